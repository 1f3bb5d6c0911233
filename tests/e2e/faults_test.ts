/**
 * Fault injection with real processes (`deno run -A main.ts relay|client`, configured by the
 * environment only): alice's side sends N items (messages, every tenth a task) to bob through
 * her loopback API while the relay, bob's daemon or alice's daemon is killed with SIGKILL and
 * started again on the same home, database and port — or while a TCP proxy between a daemon and
 * the relay cuts connections in the middle of a WebSocket frame or silently stops forwarding.
 *
 * Each scenario asserts: every item alice's API accepted reaches @bob/writer's inbox exactly
 * once, in alice's send order; both daemons agree on every task's state (bob accepts each task
 * during the run); every outbound message of both daemons ends `delivered`.
 *
 * N = 200 here; `deno task soak` runs N = 1,000 and the keepalive black-hole scenario (the
 * daemon notices a silent relay only after 50–70 s, too long for CI).
 */
import { assert, assertEquals } from "../assert.ts";
import { type FaultPlan, type RunReport, runScenario } from "./faults/driver.ts";
import { BOB, FaultWorld, readDb } from "./faults/world.ts";
import { until } from "./faults/procs.ts";

const SOAK = Deno.env.get("TASKFERRY_SOAK") === "1";
const N = Number(Deno.env.get("TASKFERRY_FAULTS_N") ?? (SOAK ? 1000 : 200));
const SETTLE_MS = SOAK ? 180_000 : 60_000;

/** Bob's inbox size and alice's pending outbox, read from the database files. */
function snapshot(w: FaultWorld): string {
  const inbox = readDb(
    w.bob.dbPath,
    (db) =>
      (db.prepare("SELECT count(*) AS n FROM inbox WHERE agent = ?").get(BOB) as { n: number }).n,
  );
  const pending = readDb(
    w.alice.dbPath,
    (db) =>
      (db.prepare("SELECT count(*) AS n FROM outbox WHERE state = 'pending'").get() as {
        n: number;
      }).n,
  );
  return `bob inbox ${inbox}, alice outbox pending ${pending}`;
}

async function scenario(name: string, plan: FaultPlan, opts: { proxies?: boolean } = {}) {
  const world = await FaultWorld.start({ name, ...opts });
  let report: RunReport | null = null;
  try {
    report = await runScenario(world, name, N, plan, { settleMs: SETTLE_MS });
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}\n${await world.logs()}`, { cause: err });
  } finally {
    await world.close();
  }
  console.log(`FAULTS ${JSON.stringify(report)}`);
  const file = Deno.env.get("TASKFERRY_FAULTS_REPORT");
  if (file) await Deno.writeTextFile(file, JSON.stringify(report) + "\n", { append: true });
  const r = report;
  assertEquals(r.accepted, N, `${name}: alice's API accepted every item in the end`);
  assertEquals(r.refused, 0, `${name}: nothing refused`);
  assertEquals(r.duplicates, 0, `${name}: no envelope twice in bob's inbox`);
  assert(r.inOrder, `${name}: bob's inbox is in alice's send order`);
  assertEquals(
    r.delivered,
    r.accepted + r.unknownDelivered,
    `${name}: every accepted item delivered, and only items alice's daemon stored`,
  );
  assert(r.tasksAgree, `${name}: both sides agree on every task`);
  assertEquals(r.messagesDelivered, r.accepted + r.unknownDelivered, `${name}: all delivered`);
  return r;
}

const relayKill: FaultPlan = async (w, progress, n) => {
  const log: string[] = [];
  for (const share of [3, 1.5]) {
    await progress.reach(Math.floor(n / share));
    const before = snapshot(w);
    await w.relay.kill9();
    log.push(`kill -9 relay at accepted ${progress.accepted} (${before})`);
    await w.relay.up();
    log.push(`relay up again at accepted ${progress.accepted}`);
  }
  return log;
};

const bobKill: FaultPlan = async (w, progress, n) => {
  await progress.reach(Math.floor(n / 3));
  // Kill while deliveries flow: once some, not all, have reached bob.
  await until("bob receiving", () => Promise.resolve(!snapshot(w).startsWith("bob inbox 0,")));
  const before = snapshot(w);
  await w.bob.kill9();
  const log = [`kill -9 bob's daemon at accepted ${progress.accepted} (${before})`];
  await w.bob.up();
  log.push(`bob's daemon up again at accepted ${progress.accepted}`);
  return log;
};

const aliceKill: FaultPlan = async (w, progress, n) => {
  await progress.reach(Math.floor(n / 3));
  await w.alice.kill9();
  // Read after the kill: what the dead daemon's outbox holds that the relay has not taken.
  const log = [`kill -9 alice's daemon at accepted ${progress.accepted} (${snapshot(w)})`];
  await w.alice.up();
  log.push(`alice's daemon up again at accepted ${progress.accepted}`);
  return log;
};

/** Bounded wait for a cut (a frame must pass in that direction for it to happen). */
async function cut(p: Promise<void>, ms = 15_000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ok = await Promise.race([
    p.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return ok;
}

const socketCuts: FaultPlan = async (w, progress, n) => {
  const log: string[] = [];
  const steps = [
    ["alice→relay", () => w.proxyA!.cut("up")],
    ["relay→bob", () => w.proxyB!.cut("down")],
    ["relay→alice", () => w.proxyA!.cut("down")],
    ["bob→relay", () => w.proxyB!.cut("up")],
  ] as const;
  for (const [i, [what, arm]] of steps.entries()) {
    await progress.reach(Math.floor((n * (i + 1)) / 6));
    const ok = await cut(arm());
    log.push(
      `${ok ? "cut" : "NO TRAFFIC to cut"} ${what} mid-frame at accepted ${progress.accepted}`,
    );
  }
  // A short black hole (well under the keepalive): nothing may be lost or duplicated.
  await progress.reach(Math.floor((n * 5) / 6));
  w.proxyA!.stall();
  w.proxyB!.stall();
  const started = Date.now();
  await new Promise((r) => setTimeout(r, 2000)); // the fault itself is a duration
  w.proxyA!.resume();
  w.proxyB!.resume();
  log.push(`stalled both links ${Date.now() - started} ms at accepted ${progress.accepted}`);
  log.push(
    `proxy connections: alice ${w.proxyA!.stats.connections}, bob ${
      w.proxyB!.stats.connections
    }; cuts ${w.proxyA!.stats.cuts + w.proxyB!.stats.cuts}`,
  );
  return log;
};

const blackHole: FaultPlan = async (w, progress, n) => {
  await progress.reach(Math.floor(n / 3));
  const connections = [w.proxyA!.stats.connections, w.proxyB!.stats.connections];
  w.proxyA!.stall();
  w.proxyB!.stall();
  const started = Date.now();
  const log = [`black-holed both links at accepted ${progress.accepted} (${snapshot(w)})`];
  // The daemons must notice by their keepalive (20 s ping, 50 s silence) and reconnect: a new
  // connection through each proxy.
  await until(
    "both daemons reconnected through new connections",
    () =>
      Promise.resolve(
        w.proxyA!.stats.connections > connections[0]! &&
          w.proxyB!.stats.connections > connections[1]!,
      ),
    150_000,
    250,
  );
  log.push(`both daemons reconnected after ${Math.round((Date.now() - started) / 1000)} s`);
  await until(
    "relay link up on both daemons",
    async () =>
      (await w.alice.api.health()).relay.connected &&
      (await w.bob.api.health()).relay.connected,
    30_000,
  );
  return log;
};

Deno.test({
  name: `faults: kill -9 the relay twice mid-stream (N=${N}), restart on the same db and port`,
  fn: async () => {
    await scenario("relay-kill", relayKill);
  },
});

Deno.test({
  name: `faults: kill -9 bob's daemon mid-stream (N=${N}); redeliveries applied once`,
  fn: async () => {
    await scenario("bob-kill", bobKill);
  },
});

Deno.test({
  name: `faults: kill -9 alice's daemon mid-stream (N=${N}); her outbox survives`,
  fn: async () => {
    await scenario("alice-kill", aliceKill);
  },
});

Deno.test({
  name: `faults: sockets cut mid-frame in all four directions, and a 2 s stall (N=${N})`,
  fn: async () => {
    await scenario("socket-cuts", socketCuts, { proxies: true });
  },
});

Deno.test({
  // Found here with the built-in WebSocket client (lib/client/relay_link.ts before
  // lib/client/ws.ts): after 50 s of silence the link called ws.close(4000) and waited for
  // onclose, which never came through a black hole, so the daemon never reconnected. The
  // daemon's own client (lib/client/ws.ts) ends the socket 200 ms after sending the close frame,
  // and this passes. Soak only: the keepalive takes 50–70 s to notice (docs/security.md §7).
  name: `faults: a black hole longer than the keepalive; both daemons reconnect (~70 s)`,
  ignore: !SOAK,
  fn: async () => {
    await scenario("black-hole", blackHole, { proxies: true });
  },
});
