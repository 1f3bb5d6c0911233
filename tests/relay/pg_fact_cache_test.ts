/**
 * The PostgreSQL node's fact cache (lib/relay/store/pg_fact_cache.ts): it restates facts
 * exactly as tf_facts_v5 answered them, item by item in the order asked now; it knows nothing
 * it was not told; after a write it adds the write's rate counts and forgets what the write's
 * effects may have changed. (That a stale fact costs a round, not a wrong accept, is
 * tests/relay/pg_cache_test.ts.)
 */
import { assertEquals } from "../assert.ts";
import { FactCache } from "../../lib/relay/store/pg_fact_cache.ts";
import { emptyRequest, type Facts } from "../../lib/relay/store/pg_fact_query.ts";

function facts(over: Partial<Facts>): Facts {
  return {
    ids: [],
    agents: [],
    clients: [],
    linked: [],
    grants: [],
    pending_to: [],
    links: [],
    pending: [],
    tasks: [],
    open: [],
    rates: [],
    ...over,
  };
}

Deno.test("fact cache: restates what was read, in the order asked now; ids are taken as new", () => {
  const cache = new FactCache();
  const read = emptyRequest();
  read.ids = ["msg_1"];
  read.agents = ["@a/x", "@b/x"];
  read.links = [["@a/x", "@b/x"]];
  read.rates = [["client:a", 60_000], ["client:a", 0]];
  const row = { handle: "@b/x", client_id: "b" };
  cache.keep(read, facts({ ids: ["msg_1"], agents: [null, row], links: ["{}"], rates: [3, 9] }));

  const asked = emptyRequest();
  asked.ids = ["msg_2"];
  asked.agents = ["@b/x", "@a/x"];
  asked.links = [["@a/x", "@b/x"]];
  asked.rates = [["client:a", 0], ["client:a", 60_000]];
  assertEquals(
    cache.facts(asked),
    facts({ agents: [row, null], links: ["{}"], rates: [9, 3] }),
  );
  // A fact never read: the group must read.
  asked.clients = ["b"];
  assertEquals(cache.facts(asked), null);
});

Deno.test("fact cache: a write adds its rate counts and drops what its effects change", () => {
  const cache = new FactCache();
  const read = emptyRequest();
  read.agents = ["@b/x"];
  read.links = [["@a/x", "@b/x"]];
  read.rates = [["link:@a/x>@b/x", 60_000]];
  cache.keep(read, facts({ agents: [null], links: [null], rates: [4] }));

  cache.wrote({
    writes: [["envelopeAdd", "msg_1"], ["deliveryAdd", "b", "msg_1", 1]],
    rates: [["link:@a/x>@b/x", 60_000, 2]],
  });
  assertEquals(cache.facts(read), facts({ agents: [null], links: [null], rates: [6] }));

  cache.wrote({ writes: [["linkAdd", "@a/x", "@b/x", "{}", 1]], rates: [] });
  assertEquals(cache.facts(read), null, "links may have changed");
  const agentsOnly = emptyRequest();
  agentsOnly.agents = ["@b/x"];
  assertEquals(cache.facts(agentsOnly), facts({ agents: [null] }), "agents are kept");
});
