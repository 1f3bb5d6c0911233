/** Live updates (design §8): the inbox long poll and the Server-Sent Events stream. */
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld } from "./world.ts";
import { ALICE, BOB } from "./helpers.ts";

/** One parsed SSE event. */
interface SseEvent {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads SSE events from `res` until `until` says stop or `timeoutMs` passes; then cancels. */
async function readSse(
  res: Response,
  until: (e: SseEvent, all: SseEvent[]) => boolean,
  timeoutMs = 5000,
): Promise<SseEvent[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buffer = "";
  const timer = setTimeout(() => reader.cancel("timeout").catch(() => {}), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended after ${events.length} events without a match`);
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: SseEvent = { event: "message", data: {} };
        for (const line of block.split("\n")) {
          const i = line.indexOf(":");
          const [field, value] = [line.slice(0, i), line.slice(i + 1).replace(/^ /, "")];
          if (field === "id") e.id = value;
          if (field === "event") e.event = value;
          if (field === "data") e.data = JSON.parse(value);
        }
        events.push(e);
        if (until(e, events)) return events;
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

Deno.test("live: GET /v1/inbox?wait= returns as soon as an item arrives, and empty after the wait", async () => {
  const w = await startWorld();
  try {
    const { alice, bob } = w;
    // Nothing comes: an empty page after about one second, cursor unchanged.
    const head = (await bob.api.inbox({ agent: BOB, after: "latest" })).next_after;
    let t0 = Date.now();
    const empty = await bob.api.inbox({ agent: BOB, after: "latest", wait: 1 });
    const idle = Date.now() - t0;
    assertEquals(empty.items, []);
    assertEquals(empty.next_after, head);
    assert(idle >= 900 && idle < 3000, `wait=1 took ${idle} ms`);

    // Something comes: the poll answers right away, not after 5 s.
    const bus = bob.running.daemon.events;
    let listening = bus.listenerCount;
    t0 = Date.now();
    const poll = fetch(
      `${bob.running.url}/v1/inbox?agent=${encodeURIComponent(BOB)}&after=${head}&wait=5`,
      {
        headers: { authorization: `Bearer ${bob.token}` },
      },
    );
    await eventually(() => Promise.resolve(bus.listenerCount > listening)); // the poll waits
    const sent = await alice.api.send({ from: ALICE, to: BOB, text: "wake up" });
    const page = await (await poll).json();
    const elapsed = Date.now() - t0;
    assert(elapsed < 4000, `the long poll took ${elapsed} ms`);
    assertEquals(page.items.map((m: { id: string }) => m.id), [sent.message.id]);
    assertEquals(page.next_after, page.items[0].seq);
    assert(page.next_after > head);

    // A filtered poll keeps waiting through items of other types.
    t0 = Date.now();
    listening = bus.listenerCount;
    const typed = bob.api.inbox({
      agent: BOB,
      after: page.next_after,
      type: "task_request",
      wait: 5,
    });
    await eventually(() => Promise.resolve(bus.listenerCount > listening));
    const other = await alice.api.send({ from: ALICE, to: BOB, text: "not a task" });
    await bob.api.waitForInbox(BOB, (m) => m.id === other.message.id); // arrived; typed waits on
    const task = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Poll me",
      instructions: ".",
    });
    const got = await typed;
    assert(Date.now() - t0 < 4000, "the filtered poll answered late");
    assertEquals(got.items.map((m) => m.task_id), [task.task.id]);
    assertEquals(got.items[0]!.type, "task_request");
  } finally {
    await w.close();
  }
});

Deno.test("live: GET /v1/events streams an inbox event for a new message, filtered by agent, resumable", async () => {
  const w = await startWorld();
  try {
    const { alice, bob } = w;
    await bob.api.createAgent({ handle: "@bob/editor" });
    const open = (headers: Record<string, string> = {}) =>
      fetch(`${bob.running.url}/v1/events?agent=${encodeURIComponent(BOB)}`, {
        headers: { authorization: `Bearer ${bob.token}`, ...headers },
      });
    const res = await open();
    assertEquals(res.status, 200);
    assert(res.headers.get("content-type")?.startsWith("text/event-stream"));
    assertEquals(res.headers.get("access-control-allow-origin"), null);

    const sent = alice.api.send({ from: ALICE, to: BOB, text: "streamed" });
    const id = (await sent).message.id;
    const events = await readSse(res, (e) => e.event === "inbox" && e.data.id === id);
    const ready = events.find((e) => e.event === "ready");
    assert(ready, "a ready event comes first");
    const inbox = events.at(-1)!;
    assertEquals(inbox.data.from, ALICE);
    assertEquals(inbox.data.type, "message");
    assertEquals(inbox.data.agent, BOB);
    assert(Number(inbox.id) > 0, "events carry ids");
    // Only bob's own (or agent-less) events: nothing about the editor.
    for (const e of events) {
      assert(
        e.data.agent === BOB || e.data.agent === null || e.event === "ready",
        JSON.stringify(e),
      );
    }

    // Reconnecting with Last-Event-ID replays what came after it.
    const again = await open({ "last-event-id": String(Number(inbox.id) - 1) });
    const replay = await readSse(again, (e) => e.event === "inbox");
    assertEquals(replay.at(-1)!.id, inbox.id);
    assertEquals(replay.at(-1)!.data.id, id);
  } finally {
    await w.close();
  }
});
