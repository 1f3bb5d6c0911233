/**
 * Leases (design §13, issue 17): the assigned worker's daemon stops, its lease lapses on the
 * requester's (injected) clock, the task is re-offered, another candidate completes it, and
 * the stopped worker's daemon withdraws when it comes back.
 */
import { assert, assertEquals } from "../assert.ts";
import { reofferLapsed } from "../../lib/client/tasks/mod.ts";
import { claim, offer, REVIEWERS, startClaimsWorld, view } from "./claims_world.ts";
import { eventually, type TestDaemon } from "./world.ts";

Deno.test("a lapsed lease re-offers the task; another candidate completes it; the lapsed one stops", async () => {
  let skew = 0;
  const w = await startClaimsWorld({ now: () => Date.now() + skew });
  try {
    const [c1, c2, c3] = w.candidates as [TestDaemon, TestDaemon, TestDaemon];
    const [R1, R2, R3] = REVIEWERS as [string, string, string];
    const daemon = w.boss.running.daemon;
    const t = await offer(w.boss, REVIEWERS, "leased", { claim: true, lease_seconds: 30 });
    assertEquals(t.lease, { seconds: 30, until: null });
    for (const d of w.candidates) {
      await eventually(async () => (await view(d, t.id)).state === "offered");
    }
    await claim(c1, t.id, R1);
    const held = await eventually(async () => {
      const v = await view(w.boss, t.id);
      return v.state === "accepted" && v.lease?.until ? v : null;
    });
    assertEquals(held.worker, R1);

    // A heartbeat (or any progress) renews the lease on the requester's clock.
    skew += 10_000;
    await c1.api.request("POST", `/v1/tasks/${t.id}/heartbeat`, { agent: R1 });
    await eventually(async () =>
      (await view(w.boss, t.id)).lease!.until! > held.lease!.until! ? true : null
    );
    assertEquals(await reofferLapsed(daemon), []);

    // The worker's daemon stops; 31 s later (requester's clock) the lease has lapsed.
    await c1.close();
    skew += 31_000;
    assertEquals(await reofferLapsed(daemon), [t.id]);
    const reopened = await view(w.boss, t.id);
    assertEquals([reopened.state, reopened.worker, reopened.candidates], ["offered", "", [R2, R3]]);
    for (const d of [c2, c3]) {
      await eventually(async () => (await view(d, t.id)).state === "offered");
    }
    await claim(c3, t.id, R3);
    await eventually(async () => (await view(w.boss, t.id)).worker === R3);
    await eventually(async () => (await view(c3, t.id)).state === "accepted");
    await eventually(async () => (await view(c2, t.id)).state === "withdrawn");
    await c3.api.submitArtifact(t.id, { content: "reviewed", agent: R3 });
    await eventually(async () => (await view(w.boss, t.id)).state === "submitted");
    await w.boss.api.completeTask(t.id);
    await eventually(async () => (await view(c3, t.id)).state === "completed");

    // The lapsed worker comes back and is told to stop: withdrawn, nothing it may do.
    const back = await c1.start();
    w.candidates[0] = back;
    const stopped = await eventually(async () => {
      const v = await view(back, t.id);
      return v.state === "withdrawn" ? v : null;
    });
    assertEquals(stopped.allowed_actions[R1], []);

    // The timeline shows the leases: granted twice, lapsed once; three assignments in all.
    const types = (await w.boss.api.task(t.id)).events.map((e) => e.type);
    assertEquals(types.filter((x) => x === "lease").length, 2);
    assertEquals(types.filter((x) => x === "lease_lapsed").length, 1);
    assertEquals(types.filter((x) => x === "task_assign").length, 3);
    assert(types.indexOf("lease_lapsed") < types.lastIndexOf("task_assign"));
  } finally {
    await w.close();
  }
});
