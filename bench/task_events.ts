/**
 * A requester's task events over SSE (`GET /v1/events`: `task` and `task_progress` events), for
 * the worker suite:
 * `when(id, type)` resolves with the wall-clock time the event for task `id` and envelope
 * `type` arrived (wall clock, so it compares with times printed by other processes).
 * @module
 */

/** Milliseconds since the epoch, sub-millisecond. */
export const wall = (): number => performance.timeOrigin + performance.now();

/** One agent's task events over SSE. */
export class TaskEvents {
  readonly #seen = new Map<string, number>();
  readonly #waiters = new Map<string, (at: number) => void>();
  readonly #ac = new AbortController();
  readonly ready: Promise<void>;

  constructor(url: string, token: string, agent: string) {
    let ready!: () => void;
    this.ready = new Promise((r) => ready = r);
    (async () => {
      const res = await fetch(`${url}/v1/events?agent=${encodeURIComponent(agent)}`, {
        headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
        signal: this.#ac.signal,
      });
      let buf = "";
      for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (event === "ready") ready();
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if ((event !== "task" && event !== "task_progress") || !data) continue;
          // Progress lines come as their own `task_progress` event (no state change).
          const e = JSON.parse(data) as { id?: string; task_id?: string; type?: string };
          const key = event === "task_progress"
            ? `${e.task_id}#task_progress`
            : `${e.id}#${e.type}`;
          const at = wall();
          const waiter = this.#waiters.get(key);
          if (waiter) {
            this.#waiters.delete(key);
            waiter(at);
          } else if (!this.#seen.has(key)) this.#seen.set(key, at);
        }
      }
    })().catch(() => {});
  }

  /** The arrival time of `type` for task `id` (waits up to `timeoutMs`). */
  when(id: string, type: string, timeoutMs = 30_000): Promise<number> {
    const key = `${id}#${type}`;
    const at = this.#seen.get(key);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event for ${id}`)), timeoutMs);
      this.#waiters.set(key, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  /** Ends the stream. */
  close() {
    this.#ac.abort();
  }
}
