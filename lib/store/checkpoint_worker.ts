/**
 * The checkpoint Worker (see checkpoint.ts): its own node:sqlite connection to the writer's
 * database, on which it runs PASSIVE WAL checkpoints when asked, so the copying and the fsync
 * of the database file happen off the writer's (relay's or daemon's) event loop. PASSIVE never
 * waits for a lock and never blocks the writer: it backfills what it can and returns.
 * @module
 */
/// <reference lib="deno.worker" />
import { DatabaseSync } from "node:sqlite";

/** Messages the writer's thread sends. */
export type CheckpointRequest =
  | { type: "open"; path: string }
  | { type: "checkpoint" }
  | { type: "close" };

/** Messages this worker answers with. */
export type CheckpointReply =
  | { type: "opened" }
  | { type: "checkpointed"; busy: number; log: number; done: number; ms: number }
  | { type: "failed"; message: string }
  | { type: "closed" };

let db: DatabaseSync | null = null;

function reply(message: CheckpointReply) {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent<CheckpointRequest>) => {
  const request = event.data;
  try {
    switch (request.type) {
      case "open":
        db = new DatabaseSync(request.path);
        // A checkpoint that meets a writer's lock gives up at once: the next one catches up.
        db.exec("PRAGMA busy_timeout = 0");
        reply({ type: "opened" });
        return;
      case "checkpoint": {
        if (!db) return;
        const started = performance.now();
        const r = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as Record<string, number>;
        reply({
          type: "checkpointed",
          busy: Number(r.busy),
          log: Number(r.log),
          done: Number(r.checkpointed),
          ms: performance.now() - started,
        });
        return;
      }
      case "close":
        db?.close();
        db = null;
        reply({ type: "closed" });
        self.close();
        return;
    }
  } catch (err) {
    reply({ type: "failed", message: err instanceof Error ? err.message : String(err) });
  }
};
