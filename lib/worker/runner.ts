/**
 * The worker runtime (design §11): a loop over the loopback API that accepts the tasks reaching
 * its agent, runs up to `concurrency` rounds at once (the rest wait in order and their
 * requesters are told their queue position), stops a round whose task was cancelled, and starts
 * a new round when a revision is requested. It is state-driven like the demo agents: every
 * pass re-reads the daemon's task list, so after a restart it picks up exactly what is owed
 * (a round without an artifact runs again: at-least-once). Inbox items wake it at once.
 */
import { ApiError, type TaskView } from "../sdk/mod.ts";
import type { WorkerApi } from "./api.ts";
import type { WorkerConfig } from "./config.ts";
import { startA2ARound } from "./a2a_round.ts";
import { type ActiveRound, RUNNABLE, startRound } from "./round.ts";

/** Longest wait on the inbox between passes (a pass also runs after this, as a safety net). */
const WAIT_SECONDS = 25;
/** Backoff after a failed pass (the daemon down or restarting). */
const RETRY_MS = [250, 500, 1000, 2000, 5000];
/** Backoff before a round whose outcome could not be delivered is tried again. */
const REDELIVER_MS = [500, 1000, 2000, 5000, 10_000, 30_000];
/** Least time between two queue-position updates to one task. */
const POSITION_INTERVAL_MS = 5000;

/** Runs one agent's tasks. */
export class Worker {
  readonly #running = new Map<string, ActiveRound>();
  /** The queue position each waiting task was last told, and when. */
  readonly #positions = new Map<string, { position: number; at: number }>();
  #positionTimer: ReturnType<typeof setTimeout> | undefined;
  /** Tasks whose last round could not be delivered: failures so far and when to try again. */
  readonly #backoff = new Map<string, { failures: number; until: number }>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** When each due round was first seen (its place in the queue), by `task#revision`. */
  readonly #arrival = new Map<string, number>();
  #arrivals = 0;
  /** Offers claimed and not yet decided (still `offered` here). */
  readonly #claims = new Set<string>();
  #dirty = false;
  #wake: AbortController | null = null;
  /** Most rounds seen running at once (for tests and the log). */
  peak = 0;

  constructor(private readonly api: WorkerApi, private readonly cfg: WorkerConfig) {}

  /** Rounds running now, by task id. */
  get running(): ReadonlyMap<string, ActiveRound> {
    return this.#running;
  }

  /** Runs until `signal` aborts; then stops every running child (they run again on restart). */
  async run(signal: AbortSignal): Promise<void> {
    let after = await this.#retry(signal, () => this.api.inboxHead(this.cfg.agent));
    let failures = 0;
    while (!signal.aborted && after !== null) {
      try {
        await this.pass();
        failures = 0;
      } catch (err) {
        const ms = RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]!;
        this.cfg.log.warn("worker pass failed; retrying", { error: err, retry_ms: ms });
        await sleep(ms, signal);
        continue;
      }
      if (this.#dirty) {
        this.#dirty = false;
        continue;
      }
      const wake = new AbortController();
      this.#wake = wake;
      const onAbort = () => wake.abort();
      signal.addEventListener("abort", onAbort);
      try {
        after = (await this.api.waitInbox(this.cfg.agent, after, WAIT_SECONDS, wake.signal)).after;
      } catch (err) {
        this.cfg.log.warn("waiting on the inbox failed", { error: err });
        await sleep(RETRY_MS[2]!, signal);
      } finally {
        signal.removeEventListener("abort", onAbort);
        this.#wake = null;
      }
    }
    for (const timer of this.#timers) clearTimeout(timer);
    clearTimeout(this.#positionTimer);
    for (const r of this.#running.values()) r.cancel();
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  /** Asks for another pass now (a round ended, or something changed). */
  kick(): void {
    this.#dirty = true;
    this.#wake?.abort();
  }

  /** One pass: accept, stop what was cancelled, start what is due, tell the queue its place. */
  async pass(): Promise<void> {
    const agent = this.cfg.agent;
    const tasks = await this.api.tasks(agent);
    const mine = tasks.filter((t) =>
      t.worker === agent && t.gate !== "pending" && t.gate !== "rejected"
    );
    for (const t of mine.filter((t) => t.state === "requested")) {
      if (await settled(() => this.api.accept(t.id, agent))) {
        this.cfg.log.info("task accepted", { task: t.id });
        this.#dirty = true; // run it from the fresh state on the next pass
      }
    }
    const due = mine.filter((t) => RUNNABLE.includes(t.state));
    await this.#claimOffers(tasks, due.length);
    const dueKey = new Map(due.map((t) => [t.id, t.revisions]));
    for (const [id, r] of this.#running) {
      if (dueKey.get(id) !== r.revision) {
        this.cfg.log.info("task no longer waits for this round; stopping it", { task: id });
        r.cancel();
      }
    }
    for (const t of [...due].sort(byArrival)) {
      const key = `${t.id}#${t.revisions}`;
      if (!this.#arrival.has(key)) this.#arrival.set(key, this.#arrivals++);
    }
    for (const key of this.#arrival.keys()) {
      const [id, revision] = key.split("#");
      if (dueKey.get(id!) !== Number(revision)) this.#arrival.delete(key);
    }
    const arrival = (t: TaskView) => this.#arrival.get(`${t.id}#${t.revisions}`)!;
    const now = Date.now();
    // In the order the rounds became due: first seen by this worker, rounds first seen in the
    // same pass (e.g. after a restart) by the time of their last change.
    const queue = due.filter((t) =>
      !this.#running.has(t.id) && (this.#backoff.get(t.id)?.until ?? 0) <= now
    ).sort((a, b) => arrival(a) - arrival(b));
    while (this.#running.size < this.cfg.concurrency && queue.length) {
      await this.#start(queue.shift()!);
    }
    await this.#tellPositions(queue);
  }

  /**
   * Claims offered tasks (design §13) while this worker has room: `concurrency` minus the
   * rounds due and the claims still waiting for the requester's decision, oldest offer first.
   */
  async #claimOffers(tasks: TaskView[], due: number) {
    const claim = this.api.claim;
    if (!claim) return;
    const agent = this.cfg.agent;
    const offered = tasks.filter((t) =>
      t.state === "offered" && t.allowed_actions[agent]?.includes("task_claim")
    );
    const open = new Set(offered.map((t) => t.id));
    for (const id of this.#claims) if (!open.has(id)) this.#claims.delete(id);
    let room = this.cfg.concurrency - due - this.#claims.size;
    for (const t of offered.sort((a, b) => a.created_at.localeCompare(b.created_at))) {
      if (room <= 0) return;
      if (this.#claims.has(t.id)) continue;
      if (await settled(() => claim(t.id, agent))) {
        this.cfg.log.info("offered task claimed", { task: t.id });
        this.#claims.add(t.id);
        room--;
      }
    }
  }

  async #start(t: TaskView) {
    const detail = await this.api.task(t.id);
    // A round runs as a child process, or at a local A2A agent (--a2a).
    const round = this.cfg.a2a
      ? startA2ARound(this.api, this.cfg, detail)
      : startRound(this.api, this.cfg, detail);
    this.#running.set(t.id, round);
    this.#positions.delete(t.id);
    this.peak = Math.max(this.peak, this.#running.size);
    round.done.then((settled) => {
      if (this.#running.get(t.id) === round) this.#running.delete(t.id);
      if (settled) this.#backoff.delete(t.id);
      else {
        const failures = (this.#backoff.get(t.id)?.failures ?? 0) + 1;
        const ms = REDELIVER_MS[Math.min(failures - 1, REDELIVER_MS.length - 1)]!;
        this.#backoff.set(t.id, { failures, until: Date.now() + ms });
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.kick();
        }, ms);
        this.#timers.add(timer);
      }
      this.kick();
    });
  }

  /**
   * Tells each waiting task its queue position when it changed — at most once per
   * {@link POSITION_INTERVAL_MS} per task, so a long queue moving fast does not become a flood of
   * progress envelopes (a held-back update goes out on a later pass).
   */
  async #tellPositions(queue: TaskView[]) {
    const waiting = new Set(queue.map((t) => t.id));
    for (const id of this.#positions.keys()) if (!waiting.has(id)) this.#positions.delete(id);
    const now = Date.now();
    let held = false;
    for (const [i, t] of queue.entries()) {
      const position = i + 1;
      const last = this.#positions.get(t.id);
      if (last?.position === position) continue;
      if (last && now - last.at < POSITION_INTERVAL_MS) {
        held = true;
        continue;
      }
      this.#positions.set(t.id, { position, at: now });
      const text = `queued: position ${position} of ${queue.length}, ` +
        `waiting for one of ${this.cfg.concurrency} runner(s)`;
      await this.api.progress(t.id, { text, queue_position: position, agent: this.cfg.agent })
        .catch((err) => this.cfg.log.debug("queue position not sent", { task: t.id, error: err }));
    }
    if (held && this.#positionTimer === undefined) {
      this.#positionTimer = setTimeout(() => {
        this.#positionTimer = undefined;
        this.kick();
      }, POSITION_INTERVAL_MS);
    }
  }

  async #retry<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T | null> {
    for (let i = 0; !signal.aborted; i++) {
      try {
        return await fn();
      } catch (err) {
        const ms = RETRY_MS[Math.min(i, RETRY_MS.length - 1)]!;
        this.cfg.log.warn("daemon not reachable; retrying", { error: err, retry_ms: ms });
        await sleep(ms, signal);
      }
    }
    return null;
  }
}

/** Oldest first: the order in which tasks became due. */
function byArrival(a: TaskView, b: TaskView): number {
  return a.updated_at.localeCompare(b.updated_at) || a.created_at.localeCompare(b.created_at);
}

/** Runs `action`; a refusal that means "already done" counts as not acted. */
async function settled(action: () => Promise<unknown>): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (err) {
    if (err instanceof ApiError && ["illegal_transition", "gate_pending"].includes(err.code)) {
      return false;
    }
    throw err;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
