/**
 * Resource bounds of the relay.
 *
 * - Idle connections: the relay runs as its own process (`deno run -A main.ts relay`); this
 *   test opens authenticated, idle WebSocket sessions to it (300 here, 1,000 under
 *   `deno task soak`) and reads the relay's resident set size from /proc/<pid>/status (VmRSS)
 *   before and after. Sockets that never say hello are closed by the hello timer.
 * - A sustained flood (5 s here, 60 s under soak): one client sends valid envelopes as fast as
 *   the relay answers them, another sends garbage and forged frames; the RSS is sampled
 *   throughout and must stay under the bound, and every accepted envelope is delivered.
 * - Tables that could grow without bound are evicted: the rate-limit table after `sweep`, the
 *   envelope (dedupe) table after the retention window.
 * - Known gap (ignored test): the per-socket frame queue is bounded in frames, not bytes.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  newId,
} from "../../lib/protocol/mod.ts";
import { until } from "../e2e/faults/procs.ts";
import { addClients, MB, mb, rss, withRelayProcess } from "./relay_proc.ts";
import {
  api,
  connectAgents,
  registerAgent,
  seal,
  setPermissions,
  SimSession,
  type TestRelay,
  withRelay,
} from "./sim.ts";

const SOAK = Deno.env.get("TASKFERRY_SOAK") === "1";
const IDLE = Number(Deno.env.get("TASKFERRY_IDLE_CONNECTIONS") ?? (SOAK ? 1000 : 300));
const FLOOD_MS = Number(Deno.env.get("TASKFERRY_FLOOD_SECONDS") ?? (SOAK ? 60 : 5)) * 1000;

/** Stated bounds (see docs/security.md): idle relay + per-connection cost, and the flood. */
const BASE_RSS_MB = 160;
const PER_CONNECTION_KB = 64;
const FLOOD_RSS_MB = 320;

async function health(url: string) {
  return (await api({ url }, "GET", "/health")).body as {
    connected_clients: number;
    queue_depth: number;
  };
}

/** Opens `tokens.length` sessions, `parallel` at a time. */
async function openSessions(url: string, ids: string[], tokens: string[], parallel = 50) {
  const sessions: SimSession[] = new Array(ids.length);
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < ids.length) {
      const i = next++;
      sessions[i] = await SimSession.connect({ url }, ids[i]!, tokens[i]!);
    }
  }));
  return sessions;
}

async function closeAll(sessions: SimSession[]) {
  await Promise.all(sessions.map(async (s) => {
    s.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([s.closed, new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
  }));
}

Deno.test(`bounds: ${IDLE} idle authenticated connections stay within the memory bound`, async () => {
  await withRelayProcess(async (relay) => {
    const ids = Array.from({ length: IDLE + 10 }, (_, i) => `idle${i}`);
    const tokens = await addClients(relay.dbPath, ids);
    // Warm the code paths (upgrade, hello, close) so their one-time cost is not counted.
    await closeAll(await openSessions(relay.url, ids.slice(0, 10), tokens.slice(0, 10)));
    await until(
      "warm-up sessions gone",
      async () => (await health(relay.url)).connected_clients === 0,
    );
    const before = rss(relay.pid);
    const started = performance.now();
    const sessions = await openSessions(relay.url, ids.slice(10), tokens.slice(10));
    const openSeconds = (performance.now() - started) / 1000;
    assertEquals((await health(relay.url)).connected_clients, IDLE);
    const after = rss(relay.pid);
    // All of them still answer.
    await Promise.all(
      sessions.slice(0, 50).map(async (s) => {
        s.raw({ type: "ping" });
        await s.next((f) => f.type === "pong");
      }),
    );
    const perConnection = (after - before) / IDLE;
    console.log(
      `BOUNDS idle=${IDLE} rss_before=${mb(before)}MB rss_after=${mb(after)}MB ` +
        `per_connection=${Math.round(perConnection / 1024)}KB open_seconds=${
          openSeconds.toFixed(2)
        }`,
    );
    await closeAll(sessions);
    await until("sessions closed", async () => (await health(relay.url)).connected_clients === 0);
    const bound = BASE_RSS_MB * MB + IDLE * PER_CONNECTION_KB * 1024;
    assert(after < bound, `RSS ${mb(after)} MB over the bound ${mb(bound)} MB`);
    assert(
      perConnection < PER_CONNECTION_KB * 1024,
      `${Math.round(perConnection / 1024)} KB per connection`,
    );
  });
});

Deno.test(`bounds: a ${FLOOD_MS / 1000} s flood stays within ${FLOOD_RSS_MB} MB; silent sockets are dropped`, async () => {
  await withRelayProcess(async (relay) => {
    const [aliceToken, bobToken, malloryToken] = await addClients(relay.dbPath, [
      "alice",
      "bob",
      "mallory",
    ]);
    const target = { url: relay.url };
    const alice = await registerAgent(target, aliceToken!, "alice", "requester");
    const bob = await registerAgent(target, bobToken!, "bob", "writer", { public: true });
    const mallory = await registerAgent(target, malloryToken!, "mallory", "x");
    const a = await SimSession.connect(target, "alice", aliceToken!);
    const b = await SimSession.connect(target, "bob", bobToken!, { autoAck: true });
    const m = await SimSession.connect(target, "mallory", malloryToken!);
    await connectAgents(alice, a, bob, b);
    const wide = { max_rate_per_minute: 100_000, max_open_tasks: 10_000 };
    assertEquals((await setPermissions(target, bobToken!, bob, alice, wide)).status, 200);
    let delivered = 0;
    b.ws.addEventListener("message", (e) => {
      if (String(e.data).startsWith('{"type":"deliver"')) delivered++;
    });

    // 100 sockets that never say hello: the hello timer (5 s) must close every one.
    const silent = await Promise.all(Array.from({ length: 100 }, async () => {
      const ws = new WebSocket(relay.url.replace(/^http/, "ws") + "/v1/ws");
      const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
      await new Promise((r) => ws.addEventListener("open", r));
      return { ws, closed };
    }));

    const samples: number[] = [rss(relay.pid)];
    const sampler = setInterval(() => samples.push(rss(relay.pid)), 250);
    const until_ = Date.now() + FLOOD_MS;
    let accepted = 0;
    let refused = 0;
    // Valid traffic: a window of 32 envelopes in flight, sealed as we go.
    const valid = (async () => {
      const inflight = new Set<string>();
      const waiters: (() => void)[] = [];
      a.ws.addEventListener("message", (e) => {
        const f = JSON.parse(e.data as string);
        if (f.type === "deliver" || f.type === "receipt") a.raw({ type: "ack", seq: f.seq });
        if ((f.type === "accepted" || f.type === "error") && f.id && inflight.delete(f.id)) {
          if (f.type === "accepted") accepted++;
          else refused++;
          waiters.shift()?.();
        }
      });
      while (Date.now() < until_) {
        if (inflight.size >= 32) {
          await new Promise<void>((r) => waiters.push(r));
          continue;
        }
        const env = await seal(alice, [bob], "message", { text: "flood ".repeat(40) }, {
          device_id: a.deviceId,
        });
        inflight.add(env.id);
        a.raw({ type: "send", envelope: env });
      }
      while (inflight.size > 0) await new Promise<void>((r) => waiters.push(r));
    })();
    // Hostile traffic: garbage, forged signatures and frames of the wrong shape.
    const hostile = (async () => {
      const forged: Envelope = await seal(mallory, [bob], "message", { text: "x" }, {
        device_id: m.deviceId,
      });
      forged.sig = encodeBase64Url(new Uint8Array(64).fill(1));
      const frames = [
        "not json",
        JSON.stringify({ type: "send", envelope: forged }),
        JSON.stringify({ type: "ack", seq: 999_999 }),
        "[".repeat(10_000) + "]".repeat(10_000),
      ];
      let i = 0;
      while (Date.now() < until_) {
        m.raw(frames[i++ % frames.length]!);
        m.raw({ type: "ping" });
        await m.next((f) => f.type === "pong", 10_000);
        m.frames.length = 0;
      }
    })();
    await Promise.all([valid, hostile]);
    clearInterval(sampler);
    const peak = Math.max(...samples);
    for (const s of silent) assertEquals(await s.closed, 4001, "silent socket closed by the relay");
    await until(
      "flood delivered",
      async () => (await health(relay.url)).queue_depth === 0 && delivered >= accepted,
      30_000,
    );
    const after = rss(relay.pid);
    console.log(
      `BOUNDS flood_seconds=${FLOOD_MS / 1000} accepted=${accepted} refused=${refused} ` +
        `delivered=${delivered} rss_start=${mb(samples[0]!)}MB rss_peak=${mb(peak)}MB ` +
        `rss_end=${mb(after)}MB rate=${Math.round(accepted / (FLOOD_MS / 1000))}/s ` +
        `rss_quartiles=${
          [0.25, 0.5, 0.75, 1].map((q) => mb(samples[Math.floor((samples.length - 1) * q)]!))
            .join("/")
        }MB`,
    );
    assert(accepted > 100, `only ${accepted} accepted`);
    assertEquals(refused, 0);
    assert(peak < FLOOD_RSS_MB * MB, `peak RSS ${mb(peak)} MB over ${FLOOD_RSS_MB} MB`);
    await closeAll([a, b, m]);
  });
});

Deno.test("bounds: the rate-limit table and the envelope (dedupe) table are evicted", async () => {
  await withRelay(
    { clockSkewMs: 1000, deliveredRetentionMs: 0, openSignup: true },
    async (relay: TestRelay) => {
      const hub = await relay.addClient("hub");
      const bob = await registerAgent(relay, hub, "hub", "writer", { public: true });
      const b = await SimSession.connect(relay, "hub", hub, { autoAck: true });
      const senders = [];
      for (let i = 0; i < 20; i++) {
        const token = await relay.addClient(`c${i}`);
        const agent = await registerAgent(relay, token, `c${i}`, "x");
        const s = await SimSession.connect(relay, `c${i}`, token, { autoAck: true });
        await connectAgents(agent, s, bob, b);
        const env = await seal(agent, [bob], "message", { text: "hi" }, { device_id: s.deviceId });
        assertEquals((await s.send(env)).type, "accepted");
        senders.push({ agent, s });
      }
      for (let i = 0; i < 3; i++) {
        assertEquals(
          (await api(relay, "POST", "/v1/signup", { body: { client_id: `s${i}` } }))
            .status,
          201,
        );
      }
      await until("all delivered", async () => (await health(relay.url)).queue_depth === 0);
      const rates = relay.relay.rates.size;
      const signups = relay.relay.signupRates.size;
      const stats = await relay.relay.store.stats();
      // Keys: client:* (21), connreq:* (20), link:* (40: messages and the accepts).
      assert(rates >= 60, `rate-limit keys: ${rates}`);
      assertEquals(signups, 1);
      assert(stats.envelopes >= 60, `envelopes: ${stats.envelopes}`);

      // An id is kept at least 2 × clock skew, so a replay inside the window is a duplicate.
      const now = Date.now();
      await relay.relay.sweep(now);
      assert((await relay.relay.store.stats()).envelopes > 0, "kept within 2 × skew");
      // Past both windows everything finished is gone; the limiter forgets idle keys.
      await relay.relay.sweep(now + 2 * 60_000 + 2_001);
      const pruned = await relay.relay.store.stats();
      assertEquals(pruned.envelopes, 0);
      assertEquals(relay.relay.rates.size, 0);
      await relay.relay.sweep(now + 2 * 3_600_000 + 1);
      assertEquals(relay.relay.signupRates.size, 0);
      console.log(
        `BOUNDS eviction rate_keys=${rates}→0 signup_keys=${signups}→0 envelopes=${stats.envelopes}→0`,
      );
      for (const x of senders) x.s.close();
      b.close();
      await Promise.all([...senders.map((x) => x.s.closed), b.closed]);
    },
  );
});

Deno.test({
  // The per-socket frame queue is bounded in frames and in size (about 4 × maxEnvelopeBytes):
  // one client sending 2 MB frames faster than their signatures are checked is closed (4003)
  // instead of making the relay hold thousands of them (+472 MB before the bound). The relay
  // runs with a 96 MB old-space limit: holding the burst (150 × 1.8 MB strings) would exhaust
  // it and kill the relay, and garbage must be collected within it. Without the limit, growth
  // was parse copies not yet collected more than anything held: 0–88 MB in most runs, 186 MB
  // once in CI; with it, 1–39 MB, also with the cores busy.
  name: "bounds: a burst of 2 MB frames on one socket stays within 128 MB of RSS",
  fn: async () => {
    await withRelayProcess(async (relay) => {
      const [token] = await addClients(relay.dbPath, ["big"]);
      const target = { url: relay.url };
      const agent = await registerAgent(target, token!, "big", "x");
      const to = { handle: "@big/y", keys: await generateAgentKeys() };
      const s = await SimSession.connect(target, "big", token!);
      const env = await seal(agent, [to], "message", { data: "x".repeat(1_400_000) }, {
        device_id: s.deviceId,
        id: newId("msg"),
      });
      env.sig = encodeBase64Url(new Uint8Array(64).fill(3));
      const frame = JSON.stringify({ type: "send", envelope: env });
      const before = rss(relay.pid);
      const samples: number[] = [];
      const sampler = setInterval(() => samples.push(rss(relay.pid)), 50);
      for (let i = 0; i < 150; i++) s.raw(frame);
      s.raw({ type: "ping" });
      // Either the relay worked through the burst (pong) or it closed the overloaded socket.
      await Promise.race([s.next((f) => f.type === "pong", 60_000).catch(() => null), s.closed]);
      clearInterval(sampler);
      const growth = Math.max(...samples) - before;
      console.log(`BOUNDS big_frames=150x${mb(frame.length)}MB rss_growth=${mb(growth)}MB`);
      s.close();
      await s.closed;
      const alive = await fetch(`${relay.url}/health`).then((r) => r.ok, () => false);
      assert(alive, "the relay died during the burst (out of its 96 MB heap?)");
      assert(growth < 128 * MB, `RSS grew ${mb(growth)} MB for one socket's queue`);
    }, { DENO_V8_FLAGS: "--max-old-space-size=96" });
  },
});
