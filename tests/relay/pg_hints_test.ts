/**
 * A PostgreSQL accept group reads what its checks need in its first round: each accept's hint
 * (store/pg_fact_query.ts `askAhead`) asks ahead for every fact the checks read — the sender's
 * client and agent too, which the accept checks again under its locks. A fact left out cost
 * every group one more round of all its checks (three rounds a group in the cluster benchmark).
 */
import { assertEquals } from "../assert.ts";
import type { RelayFrame } from "../../lib/protocol/mod.ts";
import { generateToken, hashToken, startRelay } from "../../lib/relay/mod.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import { registerAgent, seal, type SimAgent, SimSession } from "./sim.ts";
import { connectInStore } from "./store_setup.ts";

const ignore = !postgresBin() && Deno.env.get("CI") !== "true";
const answer = (f: RelayFrame) => f.type === "error" ? f.code : f.type;

Deno.test({
  name: "postgres group: the accepts' hints ask for every fact their checks read",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startPostgres();
    const store = await openPgRelayStore(await server.createDatabase(`hints_${Date.now()}`), {
      poolSize: 2,
    });
    const node = await startRelay({ store, port: 0 });
    const sessions: SimSession[] = [];
    try {
      const tokens: Record<string, string> = {};
      const agents: Record<string, SimAgent> = {};
      for (const id of ["alice", "bob", "carol"]) {
        tokens[id] = generateToken(id);
        await store.addClient(id, await hashToken(tokens[id]!), Date.now());
        agents[id] = await registerAgent(node, tokens[id]!, id, "a");
      }
      const { alice, bob, carol } = agents as Record<string, SimAgent>;
      await connectInStore(store, alice!, bob!, 1);
      await connectInStore(store, carol!, bob!, 2);
      const a = await SimSession.connect(node, "alice", tokens.alice!);
      const c = await SimSession.connect(node, "carol", tokens.carol!);
      sessions.push(a, c);
      const sends = async (n: number) =>
        await Promise.all(
          Array.from({ length: n }, async (_, i) => [
            answer(
              await a.send(
                await seal(alice!, [bob!], "message", { text: `a${i}` }, {
                  device_id: a.deviceId,
                }),
              ),
            ),
            answer(
              await c.send(
                await seal(carol!, [bob!], "message", { text: `c${i}` }, {
                  device_id: c.deviceId,
                }),
              ),
            ),
          ]),
        );
      const misses = store.accepts.misses;
      const commits = store.accepts.commits;
      const answers = (await sends(8)).flat();
      assertEquals(answers, Array(16).fill("accepted"));
      assertEquals(store.accepts.misses - misses, 0, "no round missed a fact");
      assertEquals(store.accepts.commits > commits, true);
    } finally {
      for (const s of sessions) s.close();
      await node.close();
      await server.stop();
    }
  },
});
