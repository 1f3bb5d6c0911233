/**
 * A relay that forwards two claims out of order still yields one winner (issue 17): the
 * requester's daemon reaches the relay through a proxy that delivers the later claim first. The
 * requester decides by what it receives, so the claim the relay accepted second wins, exactly one
 * worker holds the task and the other candidate withdraws.
 */
import { assert, assertEquals } from "../assert.ts";
import { claim, offer, REVIEWERS, startClaimsWorld, view } from "./claims_world.ts";
import { startReorderProxy } from "./reorder_proxy.ts";
import { eventually, type TestDaemon } from "./world.ts";

/** Claims and waits until the relay accepted the claim, so the relay's order is the test's. */
async function relayed(d: TestDaemon, id: string, agent: string) {
  await claim(d, id, agent);
  const sent = (await d.api.task(id)).events.findLast((e) => e.type === "task_claim")!;
  await eventually(async () => (await d.api.message(sent.event_id)).state !== "queued");
}

Deno.test("claims forwarded out of order by the relay: one winner, the one the requester got first", async () => {
  let proxy: ReturnType<typeof startReorderProxy> | undefined;
  const w = await startClaimsWorld({
    bossRelayUrl: (relayUrl) => (proxy = startReorderProxy(relayUrl)).url,
  });
  try {
    const [c1, c2] = w.candidates as [TestDaemon, TestDaemon, TestDaemon];
    const [r1, r2] = REVIEWERS as [string, string, string];
    const task = await offer(w.boss, [r1, r2], "order matters");
    for (const d of [c1, c2]) {
      await eventually(async () => (await view(d, task.id)).state === "offered");
    }
    // The relay accepts r1's claim first, then r2's; the proxy hands them over swapped.
    await relayed(c1, task.id, r1);
    await relayed(c2, task.id, r2);
    const assigned = await eventually(async () => {
      const t = await view(w.boss, task.id);
      return t.state === "accepted" ? t : null;
    });
    assertEquals(proxy!.swapped(), 1, "the proxy delivered the two claims swapped");
    assertEquals(assigned.worker, r2, "the claim the requester received first wins");
    // Both candidates agree: r2 holds it, r1 withdrew; nobody else was told otherwise.
    await eventually(async () => (await view(c2, task.id)).state === "accepted");
    const loser = await eventually(async () => {
      const t = await view(c1, task.id);
      return t.state === "withdrawn" ? t : null;
    });
    assertEquals(loser.worker, "");
    const assigns = (await w.boss.api.task(task.id)).events.filter((e) => e.type === "task_assign");
    assert(assigns.length === 1, `one assignment, got ${assigns.length}`);
  } finally {
    await w.close();
    await proxy?.close();
  }
});
