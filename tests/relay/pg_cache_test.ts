/**
 * A PostgreSQL node restates facts it read before (lib/relay/store/pg_fact_cache.ts) and sends
 * its accepts in one round trip; the write checks them under its locks. What another node
 * changes in between must still take effect at once: the next envelope is refused, not
 * accepted on what the cache remembered, and nothing of it is stored.
 */
import { assertEquals } from "../assert.ts";
import { DEFAULT_PERMISSIONS, type RelayFrame } from "../../lib/protocol/mod.ts";
import { generateToken, hashToken, startRelay } from "../../lib/relay/mod.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import { registerAgent, seal, type SimAgent, SimSession } from "./sim.ts";
import { connectInStore } from "./store_setup.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";

const answer = (f: RelayFrame) => f.type === "error" ? f.code : f.type;

Deno.test({
  name: "postgres cache: a link change and a revoke on another node apply to the next envelope",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const db = await server.createDatabase(`cache_${Date.now()}`);
    const store = await openPgRelayStore(db, { poolSize: 2 });
    // Another node: its own connections to the same database.
    const other = await openPgRelayStore(db, { poolSize: 1 });
    const node = await startRelay({ store, port: 0 });
    let session: SimSession | null = null;
    try {
      const agents: Record<string, { agent: SimAgent; token: string }> = {};
      for (const id of ["alice", "bob"]) {
        const token = generateToken(id);
        await store.addClient(id, await hashToken(token), Date.now());
        agents[id] = { token, agent: await registerAgent(node, token, id, "a") };
      }
      const alice = agents.alice!, bob = agents.bob!;
      await connectInStore(store, alice.agent, bob.agent, 1);
      const a = session = await SimSession.connect(node, "alice", alice.token);
      const send = async (text: string) =>
        answer(
          await a.send(
            await seal(alice.agent, [bob.agent], "message", { text }, { device_id: a.deviceId }),
          ),
        );
      assertEquals(await send("m1"), "accepted");
      const reads = store.accepts.reads;
      assertEquals(await send("m2"), "accepted");
      assertEquals(store.accepts.reads, reads, "m2's facts came from the cache: no read");

      await other.setLinkPermissions(alice.agent.handle, bob.agent.handle, {
        ...DEFAULT_PERMISSIONS,
        can_message: false,
      });
      const refused = await send("m3");
      assertEquals(refused === "accepted", false, "refused on the new permissions");
      await other.setLinkPermissions(alice.agent.handle, bob.agent.handle, DEFAULT_PERMISSIONS);
      assertEquals(await send("m4"), "accepted", "allowed again at once");

      // bob's client revoked on the other node: his agent is gone for every sender.
      await other.revokeClient("bob", Date.now());
      assertEquals(await send("m5"), "unknown_recipient");
      // m1, m2, m4 and the set-up row; nothing of m3 or m5.
      assertEquals((await store.stats()).envelopes, 4);
    } finally {
      session?.close();
      await node.close();
      await other.close();
      await server.stop();
    }
  },
});
