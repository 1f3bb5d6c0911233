/**
 * Issue 21: the PostgreSQL store with more concurrent senders than pool connections. 50
 * simulated daemons on two relay nodes (a pool of 4 each) send at once and everything is
 * accepted and delivered; a call made inside `exclusive()` never asks the pool for a second
 * connection; and a node whose whole pool waits on a lock still stops, in process and as a
 * `taskferry relay` process told to stop with SIGTERM.
 */
import postgres from "postgres";
import { assert, assertEquals } from "../assert.ts";
import { generateToken, hashToken, startRelay } from "../../lib/relay/mod.ts";
import { openPgRelayStore, type PgRelayStore } from "../../lib/relay/pg_store.ts";
import { postgresBin, startPostgres, type TestPostgres } from "./pg.ts";
import { registerAgent, seal, SimSession } from "./sim.ts";
import { connectInStore } from "./store_setup.ts";

const requirePg = Deno.env.get("CI") === "true";
const ignore = !postgresBin() && !requirePg;
let server: TestPostgres | null = null;
let dbs = 0;

async function freshDb(): Promise<string> {
  server ??= await startPostgres();
  return await server.createDatabase(`pool_${++dbs}_${Date.now()}`);
}

/** Rejects when `p` takes longer than `ms`: a deadlock fails the test instead of hanging it. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A client with one agent registered through `relay`, and its token. */
async function client(store: PgRelayStore, relay: { url: string }, id: string, isPublic = false) {
  const token = generateToken(id);
  await store.addClient(id, await hashToken(token), Date.now());
  const agent = await registerAgent(relay, token, id, "a", { public: isPublic });
  return { id, token, agent };
}

Deno.test({
  name: "postgres pool: 50 concurrent senders on two nodes with 4 connections each all get through",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await freshDb();
    const stores = [
      await openPgRelayStore(db, { poolSize: 4 }),
      await openPgRelayStore(db, { poolSize: 4 }),
    ];
    const nodes = await Promise.all(
      stores.map((store) => startRelay({ store, port: 0, options: { retryBaseMs: 200 } })),
    );
    const sessions: SimSession[] = [];
    try {
      const bob = await client(stores[1]!, nodes[1]!, "bob", true);
      const bobSession = await SimSession.connect(nodes[1]!, "bob", bob.token, { autoAck: true });
      sessions.push(bobSession);
      const senders = [];
      for (let i = 0; i < 50; i++) {
        const node = i % 2;
        const c = await client(stores[node]!, nodes[node]!, `s${i}`);
        await connectInStore(stores[0]!, c.agent, bob.agent, i);
        const session = await SimSession.connect(nodes[node]!, c.id, c.token, { autoAck: true });
        sessions.push(session);
        senders.push({ ...c, session });
      }
      // Sealed first, so that the sends below reach the relays together.
      const batches = await Promise.all(senders.map(async (s) => ({
        s,
        envelopes: await Promise.all(
          [0, 1].map((k) =>
            seal(s.agent, [bob.agent], "message", { text: `${s.id}-${k}` }, {
              device_id: s.session.deviceId,
            })
          ),
        ),
      })));
      const started = performance.now();
      const answers = await within(
        15_000,
        "100 sends",
        Promise.all(batches.flatMap(({ s, envelopes }) => envelopes.map((e) => s.session.send(e)))),
      );
      assertEquals(answers.filter((a) => a.type !== "accepted"), [], "every send is accepted");
      // Every message reaches bob (node B) and every sender hears `delivered` back.
      const ids = new Set(batches.flatMap((b) => b.envelopes.map((e) => e.id)));
      const seen = new Set<string>();
      while (seen.size < ids.size) {
        const f = await bobSession.next((f) => f.type === "deliver", 10_000);
        if (f.type === "deliver") seen.add((f.envelope as { id: string }).id);
      }
      assertEquals([...seen].sort(), [...ids].sort());
      for (const { s } of batches) {
        for (let k = 0; k < 2; k++) {
          const r = await s.session.next((f) => f.type === "receipt", 10_000);
          assert(r.type === "receipt");
        }
      }
      console.log(
        `  100 envelopes from 50 senders on 2 nodes (pool 4): ${
          Math.round(performance.now() - started)
        } ms to accept, deliver and report`,
      );
      // Nothing is left holding a transaction open. The senders' acks of their last receipts
      // may still be in flight (an ack batch is a short transaction of a few statements), so
      // a stuck transaction is one still open after 3 s.
      const probe = postgres(db, { max: 1, onnotice: () => {} });
      try {
        const idle = async () =>
          (await probe`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state = 'idle in transaction'`)[0]!.n as number;
        const deadline = Date.now() + 3_000;
        while ((await idle()) > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assertEquals(await idle(), 0);
      } finally {
        await probe.end();
      }
    } finally {
      for (const s of sessions) s.close();
      for (const n of nodes) await n.close();
    }
  },
});

Deno.test({
  name: "postgres pool: calls inside exclusive() use its transaction, even with one connection",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = await openPgRelayStore(await freshDb(), { poolSize: 1 });
    try {
      await store.addClient("alice", "h", 1);
      const result = await within(
        5_000,
        "nested calls",
        store.exclusive(["a|b", "task_1"], async (inner) => {
          // The relay's rate check reaches the store from outside the callback's argument.
          const over = await store.takeRates([["client:alice", 10]], Date.now());
          const client = await inner.getClient("alice");
          await store.useInvite("nope", "alice", 1).catch(() => {});
          return { over, client: client?.id };
        }),
      );
      assertEquals(result, { over: null, client: "alice" });
      // The transaction is over: a later call gets the (only) connection again.
      assertEquals((await within(5_000, "after", store.getClient("alice")))?.id, "alice");
    } finally {
      await store.close();
    }
  },
});

/** Sends from 3 senders whose pair locks `holder` takes first; resolves once 2 of them wait. */
async function exhaustPool(db: string, relay: { url: string }, store: PgRelayStore) {
  const holder = postgres(db, { max: 1, onnotice: () => {} });
  const reserved = await holder.reserve();
  const sessions: SimSession[] = [];
  const bob = await client(store, relay, "bob", true);
  const senders = [];
  for (let i = 0; i < 3; i++) {
    const c = await client(store, relay, `s${i}`);
    await connectInStore(store, c.agent, bob.agent, i);
    const session = await SimSession.connect(relay, c.id, c.token);
    sessions.push(session);
    senders.push({ ...c, session });
  }
  // Another node (here: a bare connection) holds the lock of every sender's pair.
  for (const { agent, session } of senders) {
    const key = [agent.handle, bob.agent.handle].sort().join("|");
    await reserved`SELECT pg_advisory_lock(hashtext(${key}))`;
    const e = await seal(agent, [bob.agent], "message", { text: "hi" }, {
      device_id: session.deviceId,
    });
    session.raw({ type: "send", envelope: e });
  }
  const waiting = async () =>
    (await reserved`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event = 'advisory'`)[0]!.n as number;
  const deadline = Date.now() + 10_000;
  // A node's accepts wait in one group statement at a time (lib/relay/pg_group.ts), so one
  // waiting connection is the node blocked; the other is the pool's spare.
  while ((await waiting()) < 1) {
    assert(Date.now() < deadline, "the pool never filled up");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    waiting,
    sessions,
    async release() {
      for (const s of sessions) s.close();
      reserved.release();
      await holder.end({ timeout: 1 });
    },
  };
}

Deno.test({
  name: "postgres pool: a node stops while its whole pool waits on a lock held elsewhere",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await freshDb();
    const store = await openPgRelayStore(db, { poolSize: 2 });
    const node = await startRelay({ store, port: 0 });
    let exhausted: Awaited<ReturnType<typeof exhaustPool>> | null = null;
    try {
      exhausted = await exhaustPool(db, node, store);
      const started = performance.now();
      await within(8_000, "stop with an exhausted pool", node.close());
      console.log(`  stopped in ${Math.round(performance.now() - started)} ms`);
    } finally {
      await node.close().catch(() => {});
      await exhausted?.release();
    }
  },
});

Deno.test({
  name:
    "postgres pool: a relay process with TASKFERRY_DB_POOL_SIZE=2 exits on SIGTERM while both connections wait",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await freshDb();
    const store = await openPgRelayStore(db, { poolSize: 1 });
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname, "relay"],
      env: {
        TASKFERRY_RELAY_DB: db,
        TASKFERRY_RELAY_ADDR: `127.0.0.1:${port}`,
        TASKFERRY_LOG_LEVEL: "error",
        // The flag's env form: the setting table gives both.
        TASKFERRY_DB_POOL_SIZE: "2",
      },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exhausted: Awaited<ReturnType<typeof exhaustPool>> | null = null;
    try {
      const url = `http://127.0.0.1:${port}`;
      const up = Date.now() + 20_000;
      while (
        !(await fetch(`${url}/health`).then((r) => r.body?.cancel().then(() => r.ok), () => false))
      ) {
        assert(Date.now() < up, "relay did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
      exhausted = await exhaustPool(db, { url }, store);
      child.kill("SIGTERM");
      const status = await within(10_000, "exit after SIGTERM", child.status);
      assertEquals(status.code, 0);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await child.status;
      await exhausted?.release();
      await store.close();
    }
  },
});

Deno.test({
  name: "postgres pool: the test server stops",
  ignore,
  fn: async () => {
    await server?.stop();
    server = null;
  },
});
