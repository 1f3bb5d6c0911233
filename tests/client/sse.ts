/** A test reader of the daemon's `GET /v1/events`: opened first, then awaited event by event. */

/** One parsed SSE event. */
export interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** An open event stream: every event since it opened, and a way to await the next match. */
export interface SseReader {
  events: SseEvent[];
  /** The first event (already read or future) matching `match`; rejects after `timeoutMs`. */
  next(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): Promise<void>;
}

/** Opens `GET /v1/events` on `url` (optionally of one agent) and waits for its `ready` event. */
export async function openEvents(url: string, token: string, agent?: string): Promise<SseReader> {
  const q = agent ? `?agent=${encodeURIComponent(agent)}` : "";
  const res = await fetch(`${url}/v1/events${q}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}`);
  const reader = res.body!.getReader();
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let closed = false;
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: SseEvent = { event: "message", data: {} };
        for (const line of block.split("\n")) {
          const i = line.indexOf(":");
          if (i <= 0) continue;
          const [field, val] = [line.slice(0, i), line.slice(i + 1).replace(/^ /, "")];
          if (field === "id") e.id = val;
          if (field === "event") e.event = val;
          if (field === "data") e.data = JSON.parse(val);
        }
        events.push(e);
        for (const w of waiters) w();
      }
    }
    closed = true;
    for (const w of waiters) w();
  })();
  const next = (match: (e: SseEvent) => boolean, timeoutMs = 10_000) =>
    new Promise<SseEvent>((resolve, reject) => {
      let seen = 0;
      const look = () => {
        for (; seen < events.length; seen++) {
          if (match(events[seen]!)) return done(() => resolve(events[seen]!));
        }
        if (closed) done(() => reject(new Error("the event stream ended without a match")));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no matching event in ${timeoutMs} ms`))),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(look);
        settle();
      };
      waiters.add(look);
      look();
    });
  await next((e) => e.event === "ready");
  return {
    events,
    next,
    close: async () => {
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}
