/**
 * PostgreSQL grouped accepts (lib/relay/pg_group.ts): a turn's envelopes share one write, each
 * answered as if alone (a duplicate or a refusal mid-group touches nothing else), and what was
 * answered `accepted` survives a node killed right after.
 */
import { assertEquals } from "../assert.ts";
import { applyTaskEvent, DEFAULT_PERMISSIONS } from "../../lib/protocol/mod.ts";
import type { RoutingReads } from "../../lib/relay/store.ts";
import { generateToken, hashToken, startRelay } from "../../lib/relay/mod.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { postgresBin, startPostgres, type TestPostgres } from "./pg.ts";
import { addRelayClient, startRelayNode } from "./relay_nodes.ts";
import type { RelayFrame } from "../../lib/protocol/mod.ts";
import { registerAgent, seal, type SimAgent, SimSession } from "./sim.ts";
import { connectInStore } from "./store_setup.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";
let server: TestPostgres | null = null;
let dbs = 0;

async function freshDb(): Promise<string> {
  server ??= await startPostgres();
  return await server.createDatabase(`group_${++dbs}_${Date.now()}`);
}

/** The next `count` answers (accepted or error) of `session`, in order. */
async function answers(session: SimSession, count: number) {
  const out: RelayFrame[] = [];
  while (out.length < count) {
    out.push(await session.next((f) => f.type === "accepted" || f.type === "error", 10_000));
  }
  return out.map((f) =>
    f.type === "accepted" ? `accepted ${f.id}` : f.type === "error" ? `${f.code} ${f.id}` : f.type
  );
}

Deno.test({
  name: "postgres group: a duplicate and a refusal mid-group; the rest is accepted, in order",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = await openPgRelayStore(await freshDb(), { poolSize: 4 });
    const node = await startRelay({ store, port: 0 });
    const sessions: SimSession[] = [];
    try {
      const agents: Record<string, { agent: SimAgent; token: string }> = {};
      for (const id of ["alice", "dave", "bob", "carol"]) {
        const token = generateToken(id);
        await store.addClient(id, await hashToken(token), Date.now());
        agents[id] = { token, agent: await registerAgent(node, token, id, "a", { public: true }) };
      }
      const { alice, dave, bob, carol } = agents as Record<string, (typeof agents)[string]>;
      await connectInStore(store, alice!.agent, bob!.agent, 1);
      await connectInStore(store, dave!.agent, bob!.agent, 2);
      const bobSession = await SimSession.connect(node, "bob", bob!.token, { autoAck: true });
      const a = await SimSession.connect(node, "alice", alice!.token, { autoAck: true });
      const d = await SimSession.connect(node, "dave", dave!.token, { autoAck: true });
      sessions.push(bobSession, a, d);
      const msg = (from: SimAgent, s: SimSession, to: SimAgent, text: string) =>
        seal(from, [to], "message", { text }, { device_id: s.deviceId });
      const a1 = await msg(alice!.agent, a, bob!.agent, "a1");
      const a2 = await msg(alice!.agent, a, bob!.agent, "a2");
      // carol is public but not connected to alice: refused by the routing checks.
      const a3 = await msg(alice!.agent, a, carol!.agent, "a3");
      const a4 = await msg(alice!.agent, a, bob!.agent, "a4");
      const d1 = await msg(dave!.agent, d, bob!.agent, "d1");
      const d2 = await msg(dave!.agent, d, bob!.agent, "d2");
      // One burst from two sessions: the frames reach the relay in one or a few turns.
      for (const e of [a1, a2, a1, a3, a4]) a.raw({ type: "send", envelope: e });
      for (const e of [d1, d2]) d.raw({ type: "send", envelope: e });
      assertEquals(await answers(a, 5), [
        `accepted ${a1.id}`,
        `accepted ${a2.id}`,
        `duplicate_envelope ${a1.id}`,
        `not_connected ${a3.id}`,
        `accepted ${a4.id}`,
      ]);
      assertEquals(await answers(d, 2), [`accepted ${d1.id}`, `accepted ${d2.id}`]);
      // bob gets each accepted envelope once; per sender in the order sent.
      const got: string[] = [];
      while (got.length < 5) {
        const f = await bobSession.next((f) => f.type === "deliver", 10_000);
        if (f.type === "deliver") got.push((f.envelope as { id: string }).id);
      }
      assertEquals(got.filter((id) => [a1.id, a2.id, a4.id].includes(id)), [a1.id, a2.id, a4.id]);
      assertEquals(got.filter((id) => [d1.id, d2.id].includes(id)), [d1.id, d2.id]);
      assertEquals((await store.stats()).envelopes, 5 + 2, "5 accepted + 2 set-up rows");
    } finally {
      for (const s of sessions) s.close();
      await node.close();
    }
  },
});

Deno.test({
  name: "postgres group: work asked for in one turn shares one write; a duplicate is refused",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = await openPgRelayStore(await freshDb(), { poolSize: 2 });
    try {
      await store.addClient("bob", "h", 1);
      const row = (id: string) => ({
        id,
        sender_client: "alice",
        from: "@alice/a",
        to: ["@bob/a"],
        type: "message" as const,
        body: "{}",
        accepted_at: Date.now(),
      });
      // Stored before the group: the group's first read does not know it (no hint).
      await store.acceptEnvelope(row("msg_old"), ["bob"], {});
      const commits = store.accepts.commits;
      const seen: string[] = [];
      await Promise.all(
        ["msg_1", "msg_old", "msg_2", "msg_1"].map((id) =>
          store.grouped(async (s) => {
            await s.insertEnvelope(row(id));
            return await s.queueEnvelope(row(id), ["bob"], {});
          }, (outcome, commitError) => {
            assertEquals(commitError, undefined);
            const code = outcome.ok
              ? `seq>0:${outcome.value[0]!.seq > 0}`
              : (outcome.error as { code?: string }).code;
            seen.push(`${id} ${code}`);
          })
        ),
      );
      assertEquals(seen, [
        "msg_1 seq>0:true",
        "msg_old duplicate_envelope",
        "msg_2 seq>0:true",
        "msg_1 duplicate_envelope",
      ]);
      assertEquals(store.accepts.commits - commits, 1, "one write for the turn");
      const pending = await store.pendingDeliveries("bob", 0, 10);
      assertEquals(pending.map((d) => d.envelope_id), ["msg_old", "msg_1", "msg_2"]);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "postgres group: the checks read the same answers from tf_facts_v5 as from the store",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // tf_facts_v5 (pg_functions.ts) restates the store's reads in SQL; the flows' queries are the
    // reference. Every routing read, on rows that make each answer both true and false.
    const store = await openPgRelayStore(await freshDb(), { poolSize: 2 });
    try {
      for (const c of ["alice", "bob", "carol"]) await store.addClient(c, "h", 1);
      for (
        const [handle, client, pub] of [["@alice/a", "alice", false], [
          "@bob/a",
          "bob",
          false,
        ], ["@carol/a", "carol", true]] as const
      ) {
        await store.putAgent({
          handle,
          client_id: client,
          signing_public_key: "k",
          encryption_public_key: "e",
          profile: { display_name: handle },
          public: pub,
          created_at: 1,
          updated_at: 2,
        });
      }
      await store.revokeClient("carol", 5);
      const row = (id: string, from: string, to: string) => ({
        id,
        sender_client: from.slice(1, -2),
        from,
        to: [to],
        type: "message" as const,
        body: "{}",
        accepted_at: 10,
      });
      const requested = applyTaskEvent(null, {
        id: "msg_t",
        type: "task_request",
        role: "requester",
        at: new Date(10).toISOString(),
        max_revisions: 3,
      });
      if (!requested.ok) throw requested.error;
      await store.acceptEnvelope(row("msg_1", "@alice/a", "@bob/a"), ["bob"], {
        connect: { a: "@alice/a", b: "@bob/a", permissions: { ...DEFAULT_PERMISSIONS } },
        task: {
          id: "task_1",
          requester: "@alice/a",
          worker: "@bob/a",
          snapshot: requested.task,
        },
      });
      await store.acceptEnvelope(row("msg_2", "@carol/a", "@bob/a"), ["bob"], {
        pending: { from: "@carol/a", to: "@bob/a", request_id: "msg_2" },
      });
      await store.createInvite({
        code: "code1234",
        agent: "@alice/a",
        client_id: "alice",
        created_at: 1,
        expires_at: Date.now() + 60_000,
        revoked: false,
        uses: 0,
        max_uses: null,
      });
      await store.useInvite("code1234", "carol", Date.now());
      // All at once: a grouped read the facts lack costs a round, and rounds are bounded.
      const reads = (s: RoutingReads) =>
        Promise.all<unknown>([
          s.envelopeExists("msg_1"),
          s.envelopeExists("msg_9"),
          ...["@alice/a", "@carol/a", "@x/a"].map((h) => s.getAgent(h)),
          ...["alice", "carol", "x"].map((c) => s.getClient(c)),
          s.clientLinkedTo("alice", "@bob/a"),
          s.clientLinkedTo("bob", "@alice/a"),
          s.clientLinkedTo("carol", "@bob/a"),
          s.hasGrant("carol", "@alice/a"),
          s.hasGrant("bob", "@alice/a"),
          s.hasPendingTo("@carol/a", "bob"),
          s.hasPendingTo("@carol/a", "alice"),
          s.getLink("@alice/a", "@bob/a"),
          s.getLink("@carol/a", "@bob/a"),
          s.getPending("@carol/a", "@bob/a"),
          s.getPending("@bob/a", "@carol/a"),
          s.getTask("task_1"),
          s.getTask("task_9"),
          s.countOpenTasks("@alice/a", "@bob/a"),
          s.countOpenTasks("@bob/a", "@alice/a"),
        ]);
      const expected = await reads(store);
      let grouped: unknown = null;
      await store.grouped((s) => reads(s), (outcome) => {
        if (!outcome.ok) throw outcome.error;
        grouped = outcome.value;
      });
      assertEquals(grouped, expected);
      // Each answer above is both true and false somewhere (the cases mean something).
      assertEquals(expected.slice(0, 2), [true, false]);
      // linked (a connection goes both ways), grants, pending requests to a client.
      assertEquals(expected.slice(8, 15), [true, true, false, true, false, true, false]);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "postgres group: a relay process killed right after answering loses nothing accepted",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const db = await freshDb();
    const store = await openPgRelayStore(db, { poolSize: 2 });
    const nodes: Deno.ChildProcess[] = [];
    const sessions: SimSession[] = [];
    try {
      const first = await startRelayNode(db);
      nodes.push(first.child);
      const aliceToken = await addRelayClient(db, "alice");
      const bobToken = await addRelayClient(db, "bob");
      const alice = await registerAgent(first, aliceToken, "alice", "a");
      const bob = await registerAgent(first, bobToken, "bob", "a", { public: true });
      await connectInStore(store, alice, bob, 1);
      const a = await SimSession.connect(first, "alice", aliceToken);
      sessions.push(a);
      const sent = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => seal(alice, [bob], "message", { text: `m${i}` }, { device_id: a.deviceId }),
        ),
      );
      for (const e of sent) a.raw({ type: "send", envelope: e });
      const answered = await answers(a, sent.length);
      assertEquals(answered, sent.map((e) => `accepted ${e.id}`));
      // Killed at once: no clean stop, nothing flushed on the way out.
      first.child.kill("SIGKILL");
      await first.child.status;
      const second = await startRelayNode(db);
      nodes.push(second.child);
      const b = await SimSession.connect(second, "bob", bobToken, { autoAck: true });
      sessions.push(b);
      const got: string[] = [];
      while (got.length < sent.length) {
        const f = await b.next((f) => f.type === "deliver", 10_000);
        if (f.type === "deliver") got.push((f.envelope as { id: string }).id);
      }
      assertEquals(got, sent.map((e) => e.id), "every accepted envelope, in order");
    } finally {
      for (const s of sessions) s.close();
      for (const n of nodes) {
        try {
          n.kill("SIGKILL");
        } catch {
          // gone
        }
        await n.status.catch(() => {});
      }
      await store.close();
    }
  },
});

Deno.test({
  name: "postgres group: the test server stops",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await server?.stop();
    server = null;
  },
});
