/**
 * One agent's daemon event stream (`GET /v1/events`, SSE) for the suites that time arrivals:
 * each event is turned into a key by `keyOf` (or ignored), and `when(key)` resolves with the time
 * that event arrived — now, or earlier if it already came. One reader for the inbox, progress and
 * task-event measurements alike.
 * @module
 */

/** Turns one SSE event into the key a measurement waits for, or null to ignore it. */
export type EventKey = (event: string, data: Record<string, unknown>) => string | null;

/** Arrival times of one agent's daemon events, by key. */
export class EventWatch {
  readonly #seen = new Map<string, number>();
  readonly #waiters = new Map<string, (at: number) => void>();
  readonly #ac = new AbortController();
  #reader: ReadableStreamDefaultReader<string> | undefined;
  /** Resolves once the daemon said the stream is live (`ready`). */
  readonly ready: Promise<void>;
  readonly #done: Promise<void>;

  /** Opens the stream of `agent` on the daemon at `url`; `clock` stamps arrivals. */
  constructor(
    url: string,
    token: string,
    agent: string,
    keyOf: EventKey,
    readonly clock: () => number = () => performance.now(),
  ) {
    let ready!: () => void;
    this.ready = new Promise((r) => ready = r);
    this.#done = (async () => {
      const res = await fetch(`${url}/v1/events?agent=${encodeURIComponent(agent)}`, {
        headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
        signal: this.#ac.signal,
      });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      this.#reader = reader;
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === "ready") ready();
          if (!event || !data) continue;
          const key = keyOf(event, JSON.parse(data) as Record<string, unknown>);
          if (key !== null) this.#arrive(key, this.clock());
        }
      }
    })().catch(() => {});
  }

  #arrive(key: string, at: number) {
    const waiter = this.#waiters.get(key);
    if (waiter) {
      this.#waiters.delete(key);
      waiter(at);
    } else if (!this.#seen.has(key)) this.#seen.set(key, at);
  }

  /** When the event with `key` arrived (waits up to `timeoutMs` for it). */
  when(key: string, timeoutMs = 30_000): Promise<number> {
    const at = this.#seen.get(key);
    if (at !== undefined) {
      this.#seen.delete(key);
      return Promise.resolve(at);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event ${key}`)), timeoutMs);
      this.#waiters.set(key, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  /** Ends the stream (cancelling the body closes the connection, so the daemon can stop). */
  async close() {
    this.#ac.abort();
    await this.#reader?.cancel().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#done, new Promise((r) => timer = setTimeout(r, 5000))]);
    clearTimeout(timer);
  }
}
