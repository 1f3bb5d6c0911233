/**
 * The file tables (design §12): each file a message sent or received, per local agent, with its
 * transfer state and progress; envelopes held in place of the outbox until their blobs are
 * uploaded; files posted to `POST /v1/files` before they are attached.
 */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** A file of a message, as the `files` table holds it. */
export interface FileRow {
  blob_id: string;
  agent: string;
  message_id: string;
  direction: "in" | "out";
  position: number;
  name: string;
  size: number;
  media_type: string;
  /** Base64url SHA-256 of the plaintext (the descriptor's). */
  sha256: string;
  /** Base64url of the blob key. */
  key: string;
  state: "pending" | "ready" | "failed";
  /** Chunks uploaded (out) or downloaded and verified (in) so far. */
  done_chunks: number;
  error_code: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** A file posted to `POST /v1/files`, not yet attached. */
export interface LocalFileRow {
  id: string;
  name: string;
  size: number;
  media_type: string;
  sha256: string;
  created_at: string;
}

type NewFile = Omit<FileRow, "state" | "done_chunks" | "error_code" | "error" | "updated_at">;

/** The `files`, `held_envelopes` and `local_files` tables. */
export class FileTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Adds a file of a message (idempotent: a redelivered envelope keeps its progress). */
  insert(f: NewFile) {
    run(
      this.db,
      `INSERT INTO files (blob_id, agent, message_id, direction, position, name, size, media_type,
         sha256, key, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
      f.blob_id,
      f.agent,
      f.message_id,
      f.direction,
      f.position,
      f.name,
      f.size,
      f.media_type,
      f.sha256,
      f.key,
      f.created_at,
      f.created_at,
    );
  }

  /** One file of `agent`. */
  get(blobId: string, agent: string): FileRow | undefined {
    return get<FileRow>(
      this.db,
      "SELECT * FROM files WHERE blob_id = ? AND agent = ?",
      blobId,
      agent,
    );
  }

  /** The local agents that hold a row for `blobId`. */
  agentsOf(blobId: string): string[] {
    return all<{ agent: string }>(this.db, "SELECT agent FROM files WHERE blob_id = ?", blobId)
      .map((r) => r.agent);
  }

  /** The files of a message as `agent` sees them, in payload order. */
  ofMessage(messageId: string, agent: string): FileRow[] {
    return all<FileRow>(
      this.db,
      "SELECT * FROM files WHERE message_id = ? AND agent = ? ORDER BY position",
      messageId,
      agent,
    );
  }

  /** The files of a message for every local agent that sent or received it. */
  ofMessageAll(messageId: string): FileRow[] {
    return all<FileRow>(
      this.db,
      "SELECT * FROM files WHERE message_id = ? ORDER BY position",
      messageId,
    );
  }

  /** The files of a task's request (every local party's rows). */
  ofTaskRequest(taskId: string): FileRow[] {
    return all<FileRow>(
      this.db,
      `SELECT f.* FROM files f JOIN messages m ON m.id = f.message_id AND m.agent = f.agent
       WHERE m.task_id = ? AND m.type = 'task_request' ORDER BY f.position`,
      taskId,
    );
  }

  /** Transfers still to do in one direction, oldest first. */
  pending(direction: "in" | "out", limit: number): FileRow[] {
    return all<FileRow>(
      this.db,
      `SELECT * FROM files WHERE state = 'pending' AND direction = ?
       ORDER BY created_at, message_id, position LIMIT ?`,
      direction,
      limit,
    );
  }

  /** Records progress: `done` chunks are through. */
  progress(blobId: string, agent: string, done: number, at: string) {
    run(
      this.db,
      "UPDATE files SET done_chunks = ?, updated_at = ? WHERE blob_id = ? AND agent = ?",
      done,
      at,
      blobId,
      agent,
    );
  }

  /** Ends a transfer: ready, or failed with a code and reason. */
  finish(
    blobId: string,
    agent: string,
    state: "ready" | "failed",
    at: string,
    error?: { code: string; message: string },
  ) {
    run(
      this.db,
      `UPDATE files SET state = ?, error_code = ?, error = ?, updated_at = ?
       WHERE blob_id = ? AND agent = ? AND state = 'pending'`,
      state,
      error?.code ?? null,
      error?.message ?? null,
      at,
      blobId,
      agent,
    );
  }

  /** Holds a sealed envelope until its files are uploaded (instead of the outbox). */
  hold(messageId: string, envelope: string, at: string) {
    run(
      this.db,
      "INSERT INTO held_envelopes (message_id, envelope, created_at) VALUES (?, ?, ?)",
      messageId,
      envelope,
      at,
    );
  }

  /** The held envelope of `messageId`, if still held. */
  held(messageId: string): { envelope: string; created_at: string } | undefined {
    return get(
      this.db,
      "SELECT envelope, created_at FROM held_envelopes WHERE message_id = ?",
      messageId,
    );
  }

  /** Ends the hold (the envelope moved to the outbox, or the send failed). */
  release(messageId: string) {
    run(this.db, "DELETE FROM held_envelopes WHERE message_id = ?", messageId);
  }

  /** Records a posted file. */
  insertLocal(f: LocalFileRow) {
    run(
      this.db,
      `INSERT INTO local_files (id, name, size, media_type, sha256, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      f.id,
      f.name,
      f.size,
      f.media_type,
      f.sha256,
      f.created_at,
    );
  }

  /** A posted file. */
  local(id: string): LocalFileRow | undefined {
    return get<LocalFileRow>(this.db, "SELECT * FROM local_files WHERE id = ?", id);
  }

  /** Held envelopes and the agent that sends each (to release those whose uploads are done). */
  heldMessages(): { id: string; agent: string }[] {
    return all<{ id: string; agent: string }>(
      this.db,
      `SELECT DISTINCT h.message_id AS id, f.agent FROM held_envelopes h
       JOIN files f ON f.message_id = h.message_id AND f.direction = 'out'`,
    );
  }
}
