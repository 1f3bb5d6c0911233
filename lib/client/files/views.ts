/** Files as the API shows them: never the key; with transfer state and progress. */
import { blobChunkCount } from "../../protocol/mod.ts";
import type { FileView } from "../../protocol/views.ts";
import type { FileRow } from "../store/mod.ts";

export type { FileView };

/** The view of one file row. */
export function fileView(row: FileRow): FileView {
  const view: FileView = {
    id: row.blob_id,
    name: row.name,
    size: row.size,
    media_type: row.media_type,
    sha256: row.sha256,
    state: row.state,
    done_chunks: row.state === "ready" ? blobChunkCount(row.size) : row.done_chunks,
    chunks: blobChunkCount(row.size),
  };
  if (row.error_code) view.error = `${row.error_code}: ${row.error ?? ""}`;
  return view;
}

/** A payload as views show it: each file's key removed (the owner never needs it). */
export function redactPayload(payload: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(payload.files)) return payload;
  const files = (payload.files as Record<string, unknown>[]).map(({ key: _key, ...f }) => f);
  return { ...payload, files };
}

/** One view per file of a message whatever local agent holds it (a receiver's row first). */
export function filesOfMessage(rows: FileRow[]): FileView[] {
  const byBlob = new Map<string, FileRow>();
  for (const r of rows) {
    const seen = byBlob.get(r.blob_id);
    if (!seen || (seen.direction === "out" && r.direction === "in")) byBlob.set(r.blob_id, r);
  }
  return [...byBlob.values()].sort((a, b) => a.position - b.position).map(fileView);
}
