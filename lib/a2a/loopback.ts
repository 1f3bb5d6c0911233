/**
 * The bridge's way into the daemon: the loopback API, reached through a `fetch`-like function
 * (the daemon app's own `app.fetch` in process, or `fetch` against its URL), always with the
 * A2A caller's bearer token, so the daemon's own authorization decides what the caller may
 * reach. Plus a watcher that yields a task's detail each time the daemon's event stream says it
 * may have changed.
 */
import { type TaskDetail, TaskferryClient } from "../sdk/mod.ts";

/** Something that answers a `Request` (both `fetch` and a Hono app's `fetch` qualify). */
export type Fetcher = (request: Request) => Response | Promise<Response>;

/** How often a watched task is re-read even without events: a safety net, events come first. */
const POLL_MS = 2_000;

/** The loopback API as one caller (one bearer token) sees it. */
export class Loopback {
  readonly api: TaskferryClient;

  constructor(
    private readonly fetcher: Fetcher,
    private readonly baseUrl: string,
    private readonly token: string,
  ) {
    this.api = new TaskferryClient({
      url: baseUrl,
      token,
      fetch: (input, init) => Promise.resolve(fetcher(this.request(String(input), init ?? {}))),
    });
  }

  /**
   * A request to the loopback API. It names its Host itself: a `Request` built in process has
   * none, and the daemon refuses requests without a loopback Host (its DNS-rebinding defence).
   */
  private request(url: string, init: RequestInit): Request {
    const req = new Request(url, init);
    if (!req.headers.has("host")) req.headers.set("host", new URL(url).host);
    return req;
  }

  /**
   * Yields the task's detail now and after every change the daemon announces (or every
   * {@link POLL_MS}), until the consumer stops or `signal` aborts. The event stream is open
   * before the first reading, so no change between the two is missed.
   */
  async *watch(taskId: string, agent: string, signal: AbortSignal): AsyncGenerator<TaskDetail> {
    const ctl = new AbortController();
    let dirty = true;
    let wake: (() => void) | null = null;
    const poke = () => {
      dirty = true;
      wake?.();
    };
    const stop = () => {
      ctl.abort();
      wake?.();
    };
    signal.addEventListener("abort", stop);
    const res = await this.fetcher(
      this.request(`${this.baseUrl}/v1/events?agent=${encodeURIComponent(agent)}`, {
        headers: { authorization: `Bearer ${this.token}` },
        signal: ctl.signal,
      }),
    );
    if (!res.ok) {
      await res.body?.cancel();
      // The same error the JSON routes would give (401, …): let the client raise it.
      await this.api.task(taskId);
      throw new Error(`the daemon refused its event stream (HTTP ${res.status})`);
    }
    // Our own reader (not the SDK's SSE parser) so that `cancel()` ends a pending read: an
    // in-process response (the daemon app's own `fetch`) does not see the request's abort.
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let ready = () => {};
    const isReady = new Promise<void>((r) => (ready = r));
    const pump = (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const blocks = (buffer + value).split("\n\n");
          buffer = blocks.pop()!;
          for (const b of blocks) {
            if (/^event: ready$/m.test(b)) ready();
            else if (b.includes(taskId)) poke();
          }
        }
      } catch {
        // The stream ended (abort or daemon shutdown): the poll below keeps going.
      } finally {
        ready();
      }
    })();
    // Wait for `ready`: from then on every change reaches us.
    await isReady;
    const timer = setInterval(poke, POLL_MS);
    try {
      while (!signal.aborted) {
        if (!dirty) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (signal.aborted) break;
        dirty = false;
        yield await this.api.task(taskId);
      }
    } finally {
      clearInterval(timer);
      signal.removeEventListener("abort", stop);
      ctl.abort();
      await reader.cancel().catch(() => {});
      await pump;
    }
  }
}
