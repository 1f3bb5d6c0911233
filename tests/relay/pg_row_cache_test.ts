/**
 * A PostgreSQL node keeps client and agent rows between frames (lib/relay/store/pg_row_cache.ts).
 * What it keeps must never let a change slip: rows are kept only while the node hears changes,
 * a change drops them, and what a late notification cannot cover the accept does — a key
 * rotated on another node is read again when a signature fails, and a revoke or token rotation
 * refuses the next envelope and ends the session.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  encodeBase64Url,
  generateAgentKeys,
  type RelayFrame,
  rotationInput,
  sign,
} from "../../lib/protocol/mod.ts";
import { generateToken, hashToken, startRelay } from "../../lib/relay/mod.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { PgRowCache, ROW_TTL_MS } from "../../lib/relay/store/pg_row_cache.ts";
import type { ClientRecord } from "../../lib/relay/store.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import { postRegistration, registerAgent, seal, type SimAgent, SimSession } from "./sim.ts";
import { connectInStore } from "./store_setup.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";
const answer = (f: RelayFrame) => f.type === "error" ? f.code : f.type;
const client = (id: string): ClientRecord => ({
  id,
  token_hash: "h",
  created_at: 1,
  revoked_at: null,
});

Deno.test("pg row cache: kept only while listening, dropped on change, never a read that spans one", async () => {
  let now = 1_000;
  const cache = new PgRowCache(() => now);
  let reads = 0;
  const load = () => (reads++, Promise.resolve(client("alice")));
  // Not listening: every look-up reads.
  await cache.client("alice", load);
  await cache.client("alice", load);
  assertEquals(reads, 2);
  cache.listening();
  await cache.client("alice", load);
  await cache.client("alice", load);
  assertEquals(reads, 3, "kept once listening");
  cache.changed("c\nalice");
  await cache.client("alice", load);
  assertEquals(reads, 4, "a change drops the row");
  // A change heard while a read is on its way: the row read may predate it, so it is not kept.
  cache.changed("c\nalice");
  let release!: () => void;
  const slow = cache.client("alice", () => new Promise((r) => release = () => r(client("alice"))));
  cache.changed("c\nbob");
  release();
  await slow;
  await cache.client("alice", load);
  assertEquals(reads, 5, "the read that spanned a change was not kept");
  // Missing rows are never kept: a registration is seen at once.
  await cache.agent("@alice/a", () => (reads++, Promise.resolve(null)));
  await cache.agent("@alice/a", () => (reads++, Promise.resolve(null)));
  assertEquals(reads, 7);
  // Kept at most ROW_TTL_MS.
  now += ROW_TTL_MS;
  await cache.client("alice", load);
  assertEquals(reads, 8);
  // A payload it does not know clears all; so does stopping.
  cache.changed("x");
  await cache.client("alice", load);
  assertEquals(reads, 9);
  cache.off();
  await cache.client("alice", load);
  await cache.client("alice", load);
  assertEquals(reads, 11);
});

Deno.test({
  name:
    "postgres row cache: rows come from memory; a rotation, token change or revoke on another node still applies to the next envelope",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const db = await server.createDatabase(`rows_${Date.now()}`);
    const store = await openPgRelayStore(db, { poolSize: 2 });
    const otherStore = await openPgRelayStore(db, { poolSize: 2 });
    const node = await startRelay({ store, port: 0 });
    const other = await startRelay({ store: otherStore, port: 0 });
    const sessions: SimSession[] = [];
    try {
      const tokens: Record<string, string> = {};
      const agents: Record<string, SimAgent> = {};
      for (const id of ["alice", "bob"]) {
        tokens[id] = generateToken(id);
        await store.addClient(id, await hashToken(tokens[id]!), Date.now());
        agents[id] = await registerAgent(node, tokens[id]!, id, "a");
      }
      const alice = agents.alice!, bob = agents.bob!;
      await connectInStore(store, alice, bob, 1);
      const open = async () => {
        const s = await SimSession.connect(node, "alice", tokens.alice!);
        sessions.push(s);
        return s;
      };
      let a = await open();
      const send = async (from: SimAgent, text: string) =>
        answer(
          await a.send(await seal(from, [bob], "message", { text }, { device_id: a.deviceId })),
        );

      assertEquals(await send(alice, "m1"), "accepted");
      const misses = store.rowCache.misses;
      for (let i = 0; i < 5; i++) assertEquals(await send(alice, `warm ${i}`), "accepted");
      assertEquals(store.rowCache.misses, misses, "client and agent rows came from memory");
      assert(store.rowCache.hits >= 10);

      // This node's own change of a kept table drops what it keeps at once (an insert
      // notifies nobody: only its own write can tell).
      const before = store.rowCache.misses;
      await store.addClient("carol", await hashToken(generateToken("carol")), Date.now());
      assertEquals(await send(alice, "after this node's write"), "accepted");
      assert(store.rowCache.misses > before, "kept rows dropped by this node's own write");

      // From here this node hears no changes (a notification late or lost).
      store.rowCache.changed = () => {};

      // alice rotates her key on the other node; this node still keeps the old one.
      const fresh = await generateAgentKeys();
      const pub = {
        signing_public_key: encodeBase64Url(fresh.signing.publicKey),
        encryption_public_key: encodeBase64Url(fresh.encryption.publicKey),
      };
      const rotation = encodeBase64Url(
        await sign(alice.keys.signing.privateKey, rotationInput(alice.handle, pub)),
      );
      const res = await postRegistration(other, tokens.alice!, "alice", alice.handle, fresh, {
        rotation,
      });
      assertEquals(res.status, 200, await res.text());
      const rotated: SimAgent = { handle: alice.handle, keys: fresh };
      assertEquals(await send(rotated, "new key"), "accepted", "the new key is read again");
      assertEquals(await send(alice, "old key"), "bad_signature");

      // alice's token rotated on the other node: refused, and the session ends.
      await otherStore.setClientToken("alice", await hashToken(generateToken("alice")));
      assertEquals(await send(rotated, "after token change"), "unauthorized");
      assertEquals((await a.closed).code, 4001);

      // A new session with the new token; then alice is revoked on the other node.
      const token2 = generateToken("alice");
      await otherStore.setClientToken("alice", await hashToken(token2));
      tokens.alice = token2;
      a = await open();
      assertEquals(await send(rotated, "m2"), "accepted");
      await otherStore.revokeClient("alice", Date.now());
      assertEquals(await send(rotated, "after revoke"), "client_revoked");
      assertEquals((await a.closed).code, 4001);
      // Stored: the set-up row, m1, 5 warm-ups, the one after the write, "new key" and m2.
      assertEquals((await store.stats()).envelopes, 10);
    } finally {
      for (const s of sessions) s.close();
      await node.close();
      await other.close();
      await server.stop();
    }
  },
});
