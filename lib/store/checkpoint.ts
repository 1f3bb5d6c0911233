/**
 * WAL checkpoints off the writer's event loop (the relay's, and the daemon's). SQLite's
 * automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages, on the committing
 * connection: the writer's thread then copies pages into the database file and fsyncs it,
 * 8–10 ms once per ~67 relay envelopes (issue 21), and the same inside a daemon's commits.
 * Here the writer's connection has `wal_autocheckpoint=0`, and a Worker with its own connection
 * runs PASSIVE checkpoints after every few commits (or a quiet interval). PASSIVE never blocks
 * the writer, so under a steady stream it may not catch up to the WAL's end, and the WAL is
 * only rewound once a checkpoint has copied all of it: when the worker reports a WAL over
 * `inlineAboveBytes`, the writer's own connection checkpoints once inline (cheap: the worker has
 * already copied most of it), which lets the next write start the WAL over.
 * @module
 */
import { get } from "./sqlite.ts";
import type { DatabaseSync } from "node:sqlite";
import type { CheckpointReply, CheckpointRequest } from "./checkpoint_worker.ts";
import { logger } from "../log.ts";

const log = logger("store");

/** When checkpoints run. */
export interface CheckpointOptions {
  /** Commits after which the worker is asked for a checkpoint. */
  everyCommits: number;
  /** Also ask after this long when anything was committed since the last request. */
  intervalMs: number;
  /** A WAL holding more than this many bytes is checkpointed inline by the writer. */
  inlineAboveBytes: number;
}

/** Defaults for {@link CheckpointOptions}. */
export const DEFAULT_CHECKPOINT_OPTIONS: CheckpointOptions = {
  // ~2 MB of WAL at the relay's envelope sizes: small enough to stay in the page cache.
  everyCommits: 64,
  intervalMs: 250,
  // Also the file size the WAL is cut back to after it restarts (journal_size_limit).
  inlineAboveBytes: 64 * 1024 * 1024,
};

/** What the checkpointer did (tests and /metrics-style reports). */
export interface CheckpointStats {
  /** Checkpoints the worker ran. */
  worker: number;
  /** Checkpoints the writer ran inline (the WAL-size fallback). */
  inline: number;
  /** WAL frames in the log at the worker's last checkpoint. */
  lastLogFrames: number;
}

/** Drives checkpoints of one database from a Worker; the writer calls {@link committed}. */
export class WalCheckpointer {
  readonly stats: CheckpointStats = { worker: 0, inline: 0, lastLogFrames: 0 };
  /** Started at the first checkpoint: a short-lived store (a CLI command) never starts one. */
  private worker: Worker | null = null;
  private readonly pageSize: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private sinceRequest = 0;
  /** Commits since the worker last answered: a worker that stops answering is not waited for. */
  private sinceReply = 0;
  private workerFailed = false;
  private inFlight = false;
  /** `total_changes()` at the last interval (see {@link wroteOutsideCommits}). */
  private lastChanges = 0;
  private closing: Promise<void> | null = null;
  private waiters: ((reply: CheckpointReply) => void)[] = [];
  private onClosed: (() => void) | null = null;

  constructor(
    private readonly db: DatabaseSync,
    private readonly path: string,
    private readonly options: CheckpointOptions = DEFAULT_CHECKPOINT_OPTIONS,
  ) {
    db.exec("PRAGMA wal_autocheckpoint = 0");
    db.exec(`PRAGMA journal_size_limit = ${Math.trunc(options.inlineAboveBytes)}`);
    this.pageSize = Number(get<{ page_size: number }>(db, "PRAGMA page_size")?.page_size ?? 4096);
  }

  private start(): Worker {
    const worker = new Worker(new URL("./checkpoint_worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<CheckpointReply>) => this.onReply(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      log.warn("checkpoint worker failed; checkpointing on commit again", { err: event.message });
      this.failed();
    };
    worker.postMessage({ type: "open", path: this.path } satisfies CheckpointRequest);
    this.timer = setInterval(() => {
      if (this.sinceRequest > 0 || this.wroteOutsideCommits()) this.request();
    }, this.options.intervalMs);
    return worker;
  }

  /**
   * Whether the connection changed rows since the last look: a writer may count only its
   * transactions (the daemon's tables also write in autocommit), so a quiet interval asks
   * SQLite rather than trusting the count alone.
   */
  private wroteOutsideCommits(): boolean {
    const n = Number(get<{ n: number }>(this.db, "SELECT total_changes() AS n")?.n ?? 0);
    const changed = n !== this.lastChanges;
    this.lastChanges = n;
    return changed;
  }

  /** Called by the writer after each COMMIT. */
  committed() {
    if (this.workerFailed) return;
    if (++this.sinceRequest >= this.options.everyCommits) this.request();
    // The worker is stuck (a long fsync, a lost message): the writer keeps the WAL bounded.
    if (++this.sinceReply >= 32 * this.options.everyCommits) {
      this.sinceReply = 0;
      this.inline();
    }
  }

  /** Asks the worker for a checkpoint now (unless one is running); resolves with its report. */
  checkpoint(): Promise<CheckpointReply> {
    if (this.closing) return Promise.resolve({ type: "failed", message: "closing" });
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.request();
    });
  }

  private request() {
    // A checkpoint already running answers the waiters too.
    if (this.closing || this.inFlight) return;
    this.inFlight = true;
    this.sinceRequest = 0;
    this.post({ type: "checkpoint" });
  }

  private onReply(reply: CheckpointReply) {
    this.sinceReply = 0;
    if (reply.type === "checkpointed") {
      this.inFlight = false;
      this.stats.worker++;
      this.stats.lastLogFrames = reply.log;
      if (!this.closing && reply.log * this.pageSize > this.options.inlineAboveBytes) {
        this.inline();
      }
    } else if (reply.type === "failed") {
      this.inFlight = false;
      log.warn("checkpoint failed", { err: reply.message });
      // The worker could not even open the database: do without it.
      if (this.stats.worker === 0) this.failed();
    } else {
      if (reply.type === "closed") this.onClosed?.();
      return;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(reply);
  }

  /** Without its worker the writer checkpoints as SQLite does by default: on commit. */
  private failed() {
    if (this.workerFailed || this.closing) return;
    this.workerFailed = true;
    this.inFlight = false;
    try {
      this.db.exec("PRAGMA wal_autocheckpoint = 1000");
    } catch (err) {
      log.warn("could not turn automatic checkpoints back on", { err });
    }
  }

  /** The fallback: the writer checkpoints, so the WAL can start over at the next write. */
  private inline() {
    try {
      get(this.db, "PRAGMA wal_checkpoint(PASSIVE)");
      this.stats.inline++;
    } catch (err) {
      log.warn("inline checkpoint failed", { err });
    }
  }

  private post(message: CheckpointRequest) {
    (this.worker ??= this.start()).postMessage(message);
  }

  /** Stops the worker after closing its connection (before the writer closes its own). */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      clearInterval(this.timer);
      const worker = this.worker;
      if (!worker) return resolve();
      const done = () => {
        clearTimeout(timeout);
        worker.terminate();
        resolve();
      };
      // A worker stuck in a long checkpoint is cut off; the writer's close checkpoints anyway.
      const timeout = setTimeout(done, 2_000);
      this.onClosed = done;
      worker.postMessage({ type: "close" } satisfies CheckpointRequest);
    });
    return this.closing;
  }
}
