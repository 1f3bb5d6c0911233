/**
 * Presence (design §13, issue 17): a peer's daemon stopping and starting flips `online` on its
 * connected peers' `GET /v1/connections` within seconds; a client without a connection never
 * receives a presence frame, whatever it asks to watch.
 */
import { assert, assertEquals } from "../assert.ts";
import type { ConnectionView } from "../../lib/protocol/views.ts";
import { SimSession } from "../relay/sim.ts";
import { BOSS, offer, REVIEWERS, startClaimsWorld } from "./claims_world.ts";
import { eventually, type TestDaemon } from "./world.ts";

async function presenceOf(d: TestDaemon, agent: string, peer: string): Promise<ConnectionView> {
  const c = (await d.api.connections(agent)).find((c) => c.peer === peer);
  if (!c) throw new Error(`${agent} has no connection to ${peer}`);
  return c;
}

Deno.test("presence flips within seconds of a daemon stopping and starting, for peers only", async () => {
  const w = await startClaimsWorld();
  try {
    const [c1] = w.candidates as [TestDaemon];
    const [R1] = REVIEWERS as [string];
    for (const r of REVIEWERS) {
      await eventually(async () => (await presenceOf(w.boss, BOSS, r)).online === true);
    }
    await eventually(async () => (await presenceOf(c1, R1, BOSS)).online === true);
    // An outsider with a relay session asks to watch everybody: the relay keeps none of it.
    const token = await w.relay.addClient("eve");
    const eve = await SimSession.connect(w.relay, "eve", token);
    eve.raw({ type: "presence", agents: [BOSS], watch: [...REVIEWERS, BOSS] });

    const stopped = Date.now();
    await c1.close();
    const away = await eventually(async () => {
      const c = await presenceOf(w.boss, BOSS, R1);
      return c.online === false ? c : null;
    });
    const awayMs = Date.now() - stopped;
    assert(away.last_seen !== null && away.last_seen !== undefined);
    // The others stay online; an offer may go to the online ones only.
    assertEquals((await presenceOf(w.boss, BOSS, REVIEWERS[1]!)).online, true);
    const t = await offer(w.boss, "cap:review", "whoever is here", { online_only: true });
    assertEquals(t.candidates, REVIEWERS.slice(1));

    const started = Date.now();
    w.candidates[0] = await c1.start();
    await eventually(async () => (await presenceOf(w.boss, BOSS, R1)).online === true);
    const backMs = Date.now() - started;
    console.log(`presence: offline seen after ${awayMs} ms, online again after ${backMs} ms`);
    assert(awayMs < 5_000 && backMs < 5_000, `${awayMs} / ${backMs}`);

    // Eve never got a presence frame, and claiming BOSS as hers changed nothing for BOSS's peers.
    await eve.send({ not: "an envelope" }).catch(() => {});
    assertEquals(eve.frames.filter((f) => f.type === "presence"), []);
    assertEquals((await presenceOf(w.candidates[1]!, REVIEWERS[1]!, BOSS)).online, true);
    eve.close();
  } finally {
    await w.close();
  }
});
