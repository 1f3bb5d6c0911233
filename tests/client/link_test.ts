/**
 * The relay link against a scripted relay (tests/client/fake_relay.ts): per-sender order after
 * a transient refusal (gap 5), honest logs for connect / disconnect / backoff / recovery, and a
 * refused token that stops the retries and says what to do (issue 19 item 4) — in the link's
 * logs, in `GET /v1/health`.
 */
import { assert, assertEquals } from "../assert.ts";
import { startDaemon } from "../../lib/client/mod.ts";
import { type LinkHost, type OutboxItem, RelayLink } from "../../lib/client/relay_link.ts";
import { setLogFormat, setLogLevel } from "../../lib/log.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { type FakeSession, startFakeRelay, welcome } from "./fake_relay.ts";
import { eventually } from "./world.ts";

/** A link host over an in-memory outbox; records what the link reports. */
function memoryHost(rows: OutboxItem[]) {
  const accepted: string[] = [];
  const host: LinkHost = {
    deliver: (items) => Promise.resolve({ stored: items.length }),
    receipts: () => Promise.resolve(),
    accepted: (id) => {
      accepted.push(id);
      rows.splice(rows.findIndex((r) => r.id === id), 1);
    },
    refused: (id) => void rows.splice(rows.findIndex((r) => r.id === id), 1),
    pendingOutbox: (after, limit) => rows.filter((r) => r.seq > after).slice(0, limit),
    status: () => {},
  };
  return { host, accepted };
}

const row = (seq: number): OutboxItem => ({
  seq,
  id: `m${seq}`,
  envelope: JSON.stringify({ id: `m${seq}` }),
});

function link(url: string, host: LinkHost) {
  return new RelayLink(
    { relayUrl: url, clientId: "alice", token: "t", deviceId: "dev_x", minBackoffMs: 10 },
    host,
  );
}

/** Captures the logger's lines (JSON) while `fn` runs. */
async function captureLogs(fn: (lines: Record<string, unknown>[]) => Promise<void>) {
  const lines: Record<string, unknown>[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(JSON.parse(line));
  setLogFormat("json");
  setLogLevel("info");
  try {
    await fn(lines);
  } finally {
    console.error = original;
    setLogLevel((Deno.env.get("TASKFERRY_LOG_LEVEL") ?? "info") as "info");
  }
}

Deno.test("link: nothing overtakes an envelope the relay asked to retry later (gap 5)", async () => {
  let closedUntil = 0;
  let refused = false;
  const order: string[] = [];
  const relay = startFakeRelay({
    frame(s: FakeSession, f) {
      if (f.type === "hello") return welcome(s);
      if (f.type !== "send") return;
      const id = (f.envelope as { id: string }).id;
      // A rate limit: m2 is refused, and everything for 100 ms after it.
      if ((id === "m2" && !refused) || Date.now() < closedUntil) {
        refused = true;
        closedUntil = Math.max(closedUntil, Date.now() + 100);
        return s.send({ type: "error", id, code: "rate_limited", message: "slow down" });
      }
      order.push(id);
      s.send({ type: "accepted", id, at: new Date().toISOString() });
    },
  });
  const rows = [row(1), row(2)];
  const { host } = memoryHost(rows);
  const l = link(relay.url, host);
  try {
    l.start();
    await eventually(() => Promise.resolve(refused && order.includes("m1")));
    // The limit lifts long before the link's retry (1–2 s); then m3 is queued.
    await eventually(() => Promise.resolve(Date.now() > closedUntil + 20));
    // Handed over as committed, it still waits behind the held m2.
    rows.push(row(3));
    l.flush([rows[2]!]);
    await eventually(() => Promise.resolve(order.length === 3), 5000);
    assertEquals(order, ["m1", "m2", "m3"], "the relay accepted them in the order sent");
  } finally {
    await l.stop();
    await relay.close();
  }
});

Deno.test("link: past a full window every row goes, in order; a drained outbox is not re-read; handed rows are not read back", async () => {
  const order: string[] = [];
  const relay = startFakeRelay({
    frame(s: FakeSession, f) {
      if (f.type === "hello") return welcome(s);
      if (f.type !== "send") return;
      const id = (f.envelope as { id: string }).id;
      order.push(id);
      s.send({ type: "accepted", id, at: new Date().toISOString() });
    },
  });
  // More rows than the window (256): the rest go as `accepted` answers free slots.
  const rows = Array.from({ length: 300 }, (_, i) => row(i + 1));
  const { host, accepted } = memoryHost(rows);
  let reads = 0;
  const read = host.pendingOutbox;
  host.pendingOutbox = (after, limit) => (reads++, read(after, limit));
  const l = link(relay.url, host);
  try {
    l.start();
    await eventually(() => Promise.resolve(accepted.length === 300), 5000);
    assertEquals(order, Array.from({ length: 300 }, (_, i) => `m${i + 1}`));
    reads = 0;
    rows.push(row(301));
    l.flush();
    await eventually(() => Promise.resolve(accepted.length === 301));
    // The flush read it; its `accepted` answer did not read the (empty) outbox again.
    assertEquals(reads, 1);

    // Rows handed over as committed go as given; those past the window are read later.
    reads = 0;
    const more = Array.from({ length: 300 }, (_, i) => row(i + 302));
    rows.push(...more);
    l.flush(more);
    await eventually(() => Promise.resolve(accepted.length === 601), 5000);
    assertEquals(order, Array.from({ length: 601 }, (_, i) => `m${i + 1}`));
    assertEquals(reads > 0, true, "the 44 the window could not take were read from the store");
    reads = 0;
    const last = row(602);
    rows.push(last);
    l.flush([last]);
    await eventually(() => Promise.resolve(accepted.length === 602));
    assertEquals(order.at(-1), "m602");
    assertEquals(reads, 0, "a drained outbox is not read for a row handed over");
  } finally {
    await l.stop();
    await relay.close();
  }
});

Deno.test("link: logs connect, disconnect with its cause, backoff and recovery", async () => {
  const relay = startFakeRelay();
  const l = link(relay.url, memoryHost([]).host);
  try {
    await captureLogs(async (lines) => {
      const has = (msg: string) => lines.find((l) => l.msg === msg);
      l.start();
      await eventually(() => Promise.resolve(has("relay connected")));
      relay.sessions[0]!.close(1011, "relay fell over");
      await eventually(() => Promise.resolve(has("relay link recovered")));
      const down = has("relay disconnected")!;
      assertEquals([down.level, down.code, down.reason], ["warn", 1011, "relay fell over"]);
      const backoff = has("reconnecting to relay")!;
      assertEquals(backoff.level, "info");
      assert(typeof backoff.in_ms === "number", "the delay is logged");
      assertEquals(has("relay link recovered")!.level, "info");
    });
  } finally {
    await l.stop();
    await relay.close();
  }
});

/** A relay that refuses every hello the way the real one refuses a wrong or rotated token. */
function refusingRelay(code: string) {
  return startFakeRelay({
    frame(s, f) {
      if (f.type !== "hello") return;
      s.send({ type: "error", code, message: "unknown client or wrong token" });
      s.close(4001, "unknown client or wrong token");
    },
  });
}

Deno.test("link: a refused token stops the retries and says what to do", async () => {
  const relay = refusingRelay("unauthorized");
  const l = link(relay.url, memoryHost([]).host);
  try {
    await captureLogs(async (lines) => {
      l.start();
      const fatal = await eventually(() => Promise.resolve(lines.find((x) => x.level === "error")));
      assert(String(fatal.msg).includes("taskferry client --setup -"), String(fatal.msg));
      assert(String(fatal.msg).includes("taskferry relay rotate-token alice"), String(fatal.msg));
      // No retry: with a 10 ms backoff, 300 ms would have seen several more hellos.
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(relay.hellos, 1, "one attempt, then it stopped");
      assert(!lines.some((x) => x.msg === "reconnecting to relay"), "no backoff after a refusal");
      assertEquals(l.connected, false);
      assert(l.fatal?.includes("rotate-token"));
    });
  } finally {
    await l.stop();
    await relay.close();
  }
});

Deno.test("link: GET /v1/health shows a revoked client's refusal and that it stopped", async () => {
  const relay = refusingRelay("client_revoked");
  const home = await Deno.makeTempDir({ prefix: "tf-link-" });
  const running = await startDaemon({
    home,
    clientId: "alice",
    relayUrl: relay.url,
    relayToken: "tfr.alice.0123456789abcdef",
    port: 0,
    linkBackoff: { minBackoffMs: 10, maxBackoffMs: 50 },
  });
  try {
    const api = new TaskferryClient({ url: running.url, token: running.token });
    const health = await eventually(async () => {
      const h = await api.health();
      return h.relay.retrying === false ? h : null;
    });
    assertEquals(health.relay.connected, false);
    assert(health.relay.error?.includes("client_revoked"), health.relay.error ?? "");
    assert(health.relay.error?.includes("taskferry client --setup -"), health.relay.error ?? "");
    assertEquals(relay.hellos, 1);
  } finally {
    await running.close();
    await relay.close();
    await Deno.remove(home, { recursive: true });
  }
});
