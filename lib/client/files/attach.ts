/**
 * Attaching files to an outgoing message (docs/api.md, "Files"): each `{path}` (a local file,
 * checked by paths.ts) or `{file_id}` (posted to `POST /v1/files`) is stored once by hash and
 * described for the payload with a fresh blob id and key. The envelope is then held until the
 * blobs are uploaded (outbox.ts → holdEnvelope).
 */
import { z } from "zod";
import {
  checkFileName,
  encodeBase64Url,
  type Envelope,
  fail,
  type FileRef,
  MAX_BLOB_SIZE,
  MAX_FILES,
  newId,
  randomBytes,
} from "../../protocol/mod.ts";
import type { DaemonStore } from "../store/mod.ts";
import { mediaTypeOf } from "./media.ts";
import { checkAttachPath } from "./paths.ts";
import type { FileVault } from "./vault.ts";

const Override = {
  /** The name the recipient sees (default: the path's last component or the posted name). */
  name: z.string().max(255).optional(),
  media_type: z.string().max(200).optional(),
};

/** One file to attach, as the API takes it: a local path or a posted file's id. */
export const FileInputSchema = z.union([
  z.strictObject({ path: z.string().min(1).max(4096), ...Override }),
  z.strictObject({ file_id: z.string().min(1).max(64), ...Override }),
]);
export type FileInput = z.infer<typeof FileInputSchema>;

/** The `files` field of the send routes. */
export const FileInputsSchema = z.array(FileInputSchema).min(1).max(MAX_FILES);

/** Stores each input once by hash and describes it with a fresh blob id and key. */
export async function prepareFiles(
  vault: FileVault,
  store: DaemonStore,
  root: string | null,
  inputs: FileInput[],
): Promise<FileRef[]> {
  const refs: FileRef[] = [];
  for (const input of inputs) {
    let name: string;
    let stored: { sha256: string; size: number };
    let media: string | undefined;
    if ("path" in input) {
      const checked = await checkAttachPath(root, input.path);
      name = checked.name;
      stored = await vault.importPath(checked.real, MAX_BLOB_SIZE);
    } else {
      const local = store.files.local(input.file_id);
      if (!local || !vault.has(local.sha256)) {
        throw fail("file_not_found", `no posted file ${input.file_id}; POST /v1/files first`);
      }
      name = local.name;
      media = local.media_type;
      stored = local;
    }
    name = checkFileName(input.name ?? name);
    refs.push({
      blob_id: newId("blob"),
      name,
      size: stored.size,
      media_type: input.media_type ?? media ?? mediaTypeOf(name),
      sha256: stored.sha256,
      key: encodeBase64Url(randomBytes(32)),
    });
  }
  return refs;
}

/**
 * Holds a sealed envelope whose payload carries `files` until they are uploaded: one pending
 * upload row per file, in the caller's transaction (instead of the outbox row).
 */
export function holdEnvelope(
  store: DaemonStore,
  envelope: Envelope,
  from: string,
  files: FileRef[],
  at: string,
) {
  files.forEach((f, position) =>
    store.files.insert({
      ...f,
      agent: from,
      message_id: envelope.id,
      direction: "out",
      position,
      created_at: at,
    })
  );
  store.files.hold(envelope.id, JSON.stringify(envelope), at);
}

/** Records the files of a received envelope for `agent` (pending download). */
export function recordInbound(
  store: DaemonStore,
  envelope: Envelope,
  agent: string,
  files: FileRef[],
  at: string,
) {
  files.forEach((f, position) =>
    store.files.insert({
      ...f,
      agent,
      message_id: envelope.id,
      direction: "in",
      position,
      created_at: at,
    })
  );
}
