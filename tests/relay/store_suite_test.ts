/**
 * One behaviour suite for every relay store implementation: SQLite (always) and PostgreSQL
 * (a throwaway server started here).
 */
import { join } from "node:path";
import { assert, assertCode, assertEquals } from "../assert.ts";
import { DEFAULT_PERMISSIONS } from "../../lib/protocol/mod.ts";
import { openSqliteRelayStore, type RelayStore } from "../../lib/relay/mod.ts";
import { openPgRelayStore, PG_MIGRATIONS } from "../../lib/relay/pg_store.ts";
import { RELAY_MIGRATIONS } from "../../lib/relay/sqlite_store.ts";
import { inviteUsable } from "../../lib/relay/invite_rules.ts";
import { SQLITE_QUERIES } from "../../lib/relay/store/sqlite_queries.ts";
import { PG_QUERIES } from "../../lib/relay/store/pg_queries.ts";
import { migrationsToRun } from "../../lib/relay/store/rules.ts";
import { postgresBin, startPostgres, type TestPostgres } from "./pg.ts";

type Factory = () => Promise<{ store: RelayStore; done: () => Promise<void> }>;

const agent = (handle: string, client: string, isPublic = false) => ({
  handle,
  client_id: client,
  signing_public_key: "s".repeat(43),
  encryption_public_key: "e".repeat(43),
  profile: { display_name: handle },
  public: isPublic,
  created_at: 1,
  updated_at: 1,
});

const envelope = (id: string, from: string, to: string[], type = "message", at = 1000) => ({
  id,
  sender_client: from.slice(1, from.indexOf("/")),
  from,
  to,
  type,
  body: JSON.stringify({ id, marker: "ciphertext" }),
  accepted_at: at,
});

function suite(name: string, factory: Factory) {
  const test = async (_title: string, fn: (store: RelayStore) => Promise<void>) => {
    const { store, done } = await factory();
    try {
      await fn(store);
    } finally {
      await done();
    }
  };

  Deno.test(`${name} store: clients last seen from sends, acks and registrations`, () =>
    test("last seen", async (store) => {
      for (const c of ["alice", "bob", "carol"]) await store.addClient(c, "h", 1);
      await store.putAgent({ ...agent("@alice/a", "alice"), updated_at: 50 });
      await store.putAgent({ ...agent("@bob/b", "bob"), updated_at: 40 });
      const [d] = await store.acceptEnvelope(
        envelope("msg_ls", "@alice/a", ["@bob/b"], "message", 70),
        ["bob"],
        {},
      );
      await store.ackDelivery("bob", d!.seq, 90);
      const seen = await store.clientsLastSeen();
      assertEquals([seen.get("alice"), seen.get("bob"), seen.has("carol")], [70, 90, false]);
      // A repeated ack finds nothing to ack and is not counted as a newer sighting.
      assertEquals((await store.ackDelivery("bob", d!.seq, 95)).acked, false);
      assertEquals((await store.clientsLastSeen()).get("bob"), 90);
      // Acks are remembered as long as delivered rows were: until the prune's horizon.
      await store.prune(91);
      assertEquals((await store.clientsLastSeen()).get("bob"), 40, "its registration remains");
    }));

  Deno.test(`${name} store: acks of one turn with unknown, repeated and others' seqs`, () =>
    test("ack batch", async (store) => {
      for (const c of ["alice", "bob", "carol"]) await store.addClient(c, "h", 1);
      for (const c of ["alice", "bob", "carol"]) await store.putAgent(agent(`@${c}/x`, c));
      const queue = async (id: string, from: string, to: string) =>
        (await store.acceptEnvelope(envelope(id, `@${from}/x`, [`@${to}/x`]), [to], {}))[0]!.seq;
      const b1 = await queue("msg_b1", "alice", "bob");
      const b2 = await queue("msg_b2", "alice", "bob");
      await queue("msg_b3", "alice", "bob");
      const c1 = await queue("msg_c1", "carol", "bob");
      const x = await queue("msg_x", "alice", "carol");
      // Asked for in one turn: a store may run them as one batch; each answers for itself.
      const results = await Promise.all([
        store.ackDelivery("bob", b2, 2000),
        store.ackDelivery("bob", 999_999, 2000),
        store.ackDelivery("bob", x, 2000),
        store.ackDelivery("bob", b1, 2000),
        store.ackDelivery("bob", b2, 2001),
        store.ackDelivery("bob", c1, 2000),
        store.ackDelivery("carol", x, 2000),
      ]);
      // msg_b2 is acked once, by either of its two acks (which one is the dialect's choice).
      const acked = results.map((r) => r.acked);
      assertEquals([acked[0]! !== acked[4]!, ...acked.slice(1, 4), ...acked.slice(5)], [
        true,
        false,
        false,
        true,
        true,
        true,
      ]);
      const receiptOf = results.map((r) => r.receipt?.client_id ?? null);
      assertEquals([receiptOf[1], receiptOf[2], receiptOf[3], receiptOf[5], receiptOf[6]], [
        null,
        null,
        "alice",
        "carol",
        "alice",
      ]);
      const b2ack = results[acked[0] ? 0 : 4]!;
      assertEquals([b2ack.receipt?.client_id, b2ack.accepted_at], ["alice", 1000]);
      // The sender's receipts are queued in the order of one client's acks.
      const alices = (await store.pendingDeliveries("alice", 0, 10)).map((r) => JSON.parse(r.body));
      assertEquals(
        alices.map((r) => r.id).filter((id) => id !== "msg_x"),
        acked[0] ? ["msg_b2", "msg_b1"] : ["msg_b1", "msg_b2"],
      );
      assert(alices.every((r) => r.state === "delivered"));
      assertEquals(alices.find((r) => r.id === "msg_x")?.recipients, ["@carol/x"]);
      assertEquals((await store.pendingDeliveries("bob", 0, 10)).map((d) => d.envelope_id), [
        "msg_b3",
      ]);
    }));

  Deno.test(`${name} store: clients, tokens and revocation`, () =>
    test("clients", async (store) => {
      await store.addClient("alice", "h1", 10);
      await assertCode(() => store.addClient("alice", "h2", 11), "conflict");
      assertEquals((await store.getClient("alice"))?.token_hash, "h1");
      assert(await store.setClientToken("alice", "h3"));
      assertEquals((await store.getClient("alice"))?.token_hash, "h3");
      assertEquals(await store.getClient("nobody"), null);
      assert(await store.revokeClient("alice", 20));
      assert(!(await store.revokeClient("alice", 21)));
      assert(!(await store.setClientToken("alice", "h4")));
      assertEquals((await store.listClients()).map((c) => [c.id, c.revoked_at]), [["alice", 20]]);
    }));

  Deno.test(`${name} store: agents and the public directory`, () =>
    test("agents", async (store) => {
      await store.addClient("alice", "h", 1);
      await store.putAgent(agent("@alice/a", "alice", true));
      await store.putAgent(agent("@alice/b", "alice", false));
      await store.putAgent({
        ...agent("@alice/a", "alice", true),
        profile: { display_name: "A2" },
        updated_at: 5,
      });
      assertEquals((await store.getAgent("@alice/a"))?.profile, { display_name: "A2" });
      assertEquals((await store.listPublicAgents(10)).map((a) => a.handle), ["@alice/a"]);
      await store.revokeClient("alice", 2);
      assertEquals(await store.listPublicAgents(10), []);
    }));

  Deno.test(`${name} store: invites grant contact, max_uses holds`, () =>
    test("invites", async (store) => {
      for (const c of ["alice", "bob", "carol"]) await store.addClient(c, "h", 1);
      await store.putAgent(agent("@alice/a", "alice"));
      await store.createInvite({
        code: "code1234",
        agent: "@alice/a",
        client_id: "alice",
        created_at: 1,
        expires_at: Date.now() + 60_000,
        revoked: false,
        uses: 0,
        max_uses: 1,
      });
      assert(!(await store.hasGrant("bob", "@alice/a")));
      await store.useInvite("code1234", "bob", Date.now());
      await store.useInvite("code1234", "bob", Date.now()); // the same client again: no new use
      assert(await store.hasGrant("bob", "@alice/a"));
      assertEquals((await store.getInvite("code1234"))?.uses, 1);
      await assertCode(() => store.useInvite("code1234", "carol", Date.now()), "invite_expired");
      assert(!(await store.hasGrant("carol", "@alice/a")));
      assert(await store.revokeInvite("code1234"));
      assertEquals((await store.getInvite("code1234"))?.revoked, true);
      await assertCode(() => store.useInvite("nope", "bob", 1), "invite_not_found");
    }));

  Deno.test(`${name} store: accept with effects, duplicates, delivery order, acks and receipts`, () =>
    test("queue", async (store) => {
      for (const c of ["alice", "bob"]) await store.addClient(c, "h", 1);
      await store.putAgent(agent("@alice/a", "alice"));
      await store.putAgent(agent("@bob/b", "bob"));
      await store.acceptEnvelope(envelope("msg_1", "@alice/a", ["@bob/b"], "connection_request"), [
        "bob",
      ], {
        pending: { from: "@alice/a", to: "@bob/b", request_id: "msg_1" },
      });
      assertEquals(await store.getPending("@alice/a", "@bob/b"), { request_id: "msg_1" });
      assert(await store.hasPendingTo("@alice/a", "bob"));
      await store.acceptEnvelope(envelope("msg_2", "@bob/b", ["@alice/a"], "connection_accept"), [
        "alice",
      ], {
        answered: { from: "@alice/a", to: "@bob/b" },
        connect: { a: "@bob/b", b: "@alice/a", permissions: { ...DEFAULT_PERMISSIONS } },
      });
      assertEquals(await store.getPending("@alice/a", "@bob/b"), null);
      assertEquals((await store.getLink("@alice/a", "@bob/b"))?.can_message, true);
      assert(await store.clientLinkedTo("alice", "@bob/b"));
      assert(
        await store.setLinkPermissions("@alice/a", "@bob/b", {
          ...DEFAULT_PERMISSIONS,
          can_message: false,
        }),
      );
      assertEquals((await store.getLink("@alice/a", "@bob/b"))?.can_message, false);

      const snapshot = {
        state: "requested" as const,
        artifact_version: 0,
        revisions: 0,
        max_revisions: 3,
        deadline: null,
        event_ids: [],
      };
      await store.acceptEnvelope(
        envelope("msg_3", "@alice/a", ["@bob/b"], "task_request"),
        ["bob"],
        {
          task: { id: "task_1", requester: "@alice/a", worker: "@bob/b", snapshot },
        },
      );
      assertEquals((await store.getTask("task_1"))?.snapshot.state, "requested");
      assertEquals(await store.countOpenTasks("@alice/a", "@bob/b"), 1);
      await assertCode(
        () => store.acceptEnvelope(envelope("msg_3", "@alice/a", ["@bob/b"]), ["bob"], {}),
        "duplicate_envelope",
      );
      assert(await store.envelopeExists("msg_3"));

      const pending = await store.pendingDeliveries("bob", 0, 10);
      assertEquals(pending.map((d) => d.envelope_id), ["msg_1", "msg_3"]);
      assert(pending[0]!.seq < pending[1]!.seq);
      assertEquals(JSON.parse(pending[0]!.body).marker, "ciphertext");
      const acked = await store.ackDelivery("bob", pending[0]!.seq, 2000);
      assert(acked.acked && acked.receipt?.client_id === "alice");
      assertEquals((await store.ackDelivery("bob", pending[0]!.seq, 2001)).acked, false);
      assertEquals((await store.ackDelivery("alice", pending[1]!.seq, 2001)).acked, false);
      const receipts = await store.pendingDeliveries("alice", 0, 10);
      const receipt = receipts.find((r) => r.kind === "receipt")!;
      assertEquals(JSON.parse(receipt.body).state, "delivered");
      assertEquals(JSON.parse(receipt.body).recipients, ["@bob/b"]);
      assertEquals((await store.stats()).envelopes, 3);

      // Undelivered past retention: failed, with a receipt to the sender.
      const failed = await store.failExpired(5000, 6000);
      assert(failed.some((f) => f.client_id === "alice"));
      // bob's queue now holds only the `failed` receipt for his msg_2, which alice never took.
      const bobs = await store.pendingDeliveries("bob", 0, 10);
      assertEquals(bobs.map((r) => [r.kind, r.envelope_id, JSON.parse(r.body).state]), [
        ["receipt", "msg_2", "failed"],
      ]);
      assertEquals(JSON.parse(bobs[0]!.body).reason, "retention_expired");
      await store.noteAttempt("bob", bobs[0]!.seq);
      assertEquals((await store.pendingDeliveries("bob", 0, 10))[0]!.attempts, 1);
      // Everything finished before 10000 is pruned once the receipts are taken; stats shrink.
      for (const c of ["alice", "bob"]) {
        for (const r of await store.pendingDeliveries(c, 0, 10)) {
          await store.ackDelivery(c, r.seq, 7000);
        }
      }
      await store.prune(10_000);
      assertEquals((await store.stats()).envelopes, 0);
    }));
}

Deno.test("store rules: both dialects have SQL for every statement; schemas move in step", () => {
  const names = (t: object) => Object.keys(t).sort();
  assertEquals(names(PG_QUERIES), names(SQLITE_QUERIES));
  // Only PostgreSQL keeps shared rate windows; SQLite has nothing else to skip.
  const skipped = Object.entries(SQLITE_QUERIES).filter(([, sql]) => sql === null);
  assertEquals(skipped.map(([name]) => name), ["pruneRates"]);
  assertEquals(Object.values(PG_QUERIES).filter((sql) => sql === null), []);
  const steps = (ms: { version: number; name: string }[]) => ms.map((m) => [m.version, m.name]);
  assertEquals(steps(PG_MIGRATIONS), steps(RELAY_MIGRATIONS));
});

Deno.test("store rules: an invite is usable until revoked, expired or used up", () => {
  const invite = { revoked: false, expires_at: 2_000, uses: 0, max_uses: 2 };
  assert(inviteUsable(invite, 2_000), "usable up to and including expires_at");
  assert(!inviteUsable(invite, 2_001));
  assert(!inviteUsable({ ...invite, revoked: true }, 1_000));
  assert(inviteUsable({ ...invite, uses: 1 }, 1_000));
  assert(!inviteUsable({ ...invite, uses: 2 }, 1_000));
  assert(inviteUsable({ ...invite, uses: 99, max_uses: null }, 1_000), "null: no use limit");
});

Deno.test("store rules: migrations run from the current version; a newer database is refused", async () => {
  const ms = [{ version: 1 }, { version: 2 }, { version: 3 }];
  assertEquals(migrationsToRun(0, ms, "test"), ms);
  assertEquals(migrationsToRun(2, ms, "test"), [{ version: 3 }]);
  assertEquals(migrationsToRun(3, ms, "test"), []);
  await assertCode(
    () => migrationsToRun(4, ms, "test"),
    "database_too_new",
  );
});

suite("sqlite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-store-" });
  const store = openSqliteRelayStore(join(dir, "relay.db"));
  return {
    store,
    done: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

// PostgreSQL: required in CI (where .ci/packages.sh installs it); elsewhere only if installed.
const requirePg = Deno.env.get("CI") === "true";
if (postgresBin() || requirePg) {
  let server: TestPostgres | null = null;
  let n = 0;
  suite("postgres", async () => {
    server ??= await startPostgres();
    const store = await openPgRelayStore(await server.createDatabase(`suite_${++n}_${Date.now()}`));
    return { store, done: () => store.close() };
  });
  Deno.test({
    name: "postgres store: the test server stops",
    fn: async () => {
      await server?.stop();
      server = null;
    },
  });
} else {
  console.warn("store suite: PostgreSQL not installed here; the postgres half runs in CI");
}
