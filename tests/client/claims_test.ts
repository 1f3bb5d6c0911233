/**
 * Offers, claims and assignment across four daemons (design §13, issue 17): the requester's
 * daemon decides, exactly one candidate wins each task, every other candidate withdraws.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ApiError } from "../../lib/sdk/mod.ts";
import { BOSS, claim, offer, REVIEWERS, startClaimsWorld, view } from "./claims_world.ts";
import { eventually, type TestDaemon } from "./world.ts";
import { assignClaimed } from "../../lib/client/tasks/mod.ts";

const N = 20;
const [R1, R2] = REVIEWERS as [string, string, string];

/** Expects the daemon to refuse with `code`, its message mentioning `text`. */
async function refused(fn: () => Promise<unknown>, code: string, text: string) {
  const err = await assertRejects(fn, ApiError);
  assertEquals(err.code, code, err.message);
  assert(err.message.includes(text), err.message);
}

/** Claims and waits until the relay accepted the claim, so the relay's order is the test's. */
async function relayed(d: TestDaemon, id: string, agent: string) {
  await claim(d, id, agent);
  const sent = (await d.api.task(id)).events.findLast((e) => e.type === "task_claim")!;
  await eventually(async () => (await d.api.message(sent.event_id)).state !== "queued");
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

Deno.test("N offers claimed concurrently by three candidates: one worker each, the rest withdraw", async () => {
  const w = await startClaimsWorld();
  try {
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const task = await offer(w.boss, "cap:review", `review ${i}`);
      assertEquals(task.state, "offered");
      assertEquals(task.worker, "");
      assertEquals(task.candidates, [...REVIEWERS].sort());
      ids.push(task.id);
    }
    // Every candidate sees every task as offered, with claim among its actions.
    for (const [i, d] of w.candidates.entries()) {
      await eventually(async () =>
        (await d.api.tasks({ agent: REVIEWERS[i]!, state: "offered" })).length === N
      );
      const t = await view(d, ids[0]!);
      assertEquals(t.allowed_actions[REVIEWERS[i]!], ["task_claim"]);
    }
    // All three claim all N at once.
    await Promise.all(
      w.candidates.flatMap((d, i) => ids.map((id) => claim(d, id, REVIEWERS[i]!))),
    );
    const winners = new Map<string, string>();
    for (const id of ids) {
      const t = await eventually(async () => {
        const v = await view(w.boss, id);
        return v.state === "accepted" ? v : null;
      });
      assert(REVIEWERS.includes(t.worker), t.worker);
      winners.set(id, t.worker);
    }
    // Each candidate's daemon agrees: the winner holds it, every loser withdrew.
    for (const id of ids) {
      for (const [i, d] of w.candidates.entries()) {
        const expected = winners.get(id) === REVIEWERS[i] ? "accepted" : "withdrawn";
        const t = await eventually(async () => {
          const v = await view(d, id);
          return v.state === expected ? v : null;
        });
        if (expected === "withdrawn") {
          assertEquals(t.worker, "");
          assertEquals(t.allowed_actions[REVIEWERS[i]!], []);
        } else {
          assertEquals(t.worker, REVIEWERS[i]);
        }
      }
    }
    // A loser's late claim is refused locally; the winner proceeds as with any task.
    const [first] = ids;
    const winnerIndex = REVIEWERS.indexOf(winners.get(first!)!);
    const loser = (winnerIndex + 1) % 3;
    await refused(
      () => claim(w.candidates[loser]!, first!, REVIEWERS[loser]!),
      "illegal_transition",
      "task_claim is not allowed",
    );
    const winner = w.candidates[winnerIndex]!;
    await winner.api.submitArtifact(first!, { content: "LGTM", agent: REVIEWERS[winnerIndex]! });
    await eventually(async () => (await view(w.boss, first!)).state === "submitted");
    await w.boss.api.completeTask(first!);
    await eventually(async () => (await view(winner, first!)).state === "completed");
    // offer → assigned, on the requester's clock, from its timeline.
    // offer → assigned and first claim → assigned, from the requester's timeline.
    const latencies: number[] = [];
    const decisions: number[] = [];
    for (const id of ids) {
      const events = (await w.boss.api.task(id)).events;
      const at = (type: string) => Date.parse(events.find((e) => e.type === type)!.at);
      assertEquals(events.filter((e) => e.type === "task_assign").length, 1);
      latencies.push(at("task_assign") - at("task_request"));
      decisions.push(at("task_assign") - at("task_claim"));
    }
    latencies.sort((a, b) => a - b);
    decisions.sort((a, b) => a - b);
    console.log(
      `offer→assigned over ${N} tasks, 3 candidates: p50 ${percentile(latencies, 50)} ms, ` +
        `p99 ${percentile(latencies, 99)} ms; first claim→assigned: p50 ` +
        `${percentile(decisions, 50)} ms, p99 ${percentile(decisions, 99)} ms`,
    );
  } finally {
    await w.close();
  }
});

Deno.test("claims delivered in either order: the first the requester receives wins", async () => {
  const w = await startClaimsWorld();
  try {
    const [c1, c2, c3] = w.candidates as [TestDaemon, TestDaemon, TestDaemon];
    const a = await offer(w.boss, REVIEWERS, "a", { claim: true });
    const b = await offer(w.boss, REVIEWERS, "b", { claim: true });
    for (const [i, d] of w.candidates.entries()) {
      await eventually(async () =>
        (await d.api.tasks({ agent: REVIEWERS[i]!, state: "offered" })).length === 2
      );
    }
    // The requester is away: the relay queues the claims, then delivers them together in the
    // order it chose (c2 first for a, c1 first for b).
    await w.boss.close();
    await relayed(c2, a.id, R2);
    await relayed(c1, a.id, R1);
    await relayed(c1, b.id, R1);
    await relayed(c2, b.id, R2);
    const boss = await w.boss.start();
    w.boss = boss;
    for (const [id, winner] of [[a.id, R2], [b.id, R1]] as const) {
      await eventually(async () => (await view(boss, id)).state === "accepted");
      assertEquals((await view(boss, id)).worker, winner);
      const events = (await boss.api.task(id)).events;
      assertEquals(events.filter((e) => e.type === "task_assign").length, 1);
      for (const [i, d] of [c1, c2, c3].entries()) {
        const expected = REVIEWERS[i] === winner ? "accepted" : "withdrawn";
        await eventually(async () => (await view(d, id)).state === expected);
      }
    }
  } finally {
    await w.close();
  }
});

Deno.test("offers: one candidate with claim or no capability match is refused; an open offer cancels", async () => {
  const w = await startClaimsWorld();
  try {
    await refused(
      () => offer(w.boss, R1, "x", { claim: true }),
      "validation_failed",
      "two or more candidates",
    );
    await refused(() => offer(w.boss, "cap:ops", "x"), "no_candidates", "cap:ops");
    assertEquals(await w.boss.api.tasks({ agent: BOSS }), []);
    // An offer nobody took can be cancelled: every candidate is told.
    const t = await offer(w.boss, "cap:review", "never mind");
    for (const [i, d] of w.candidates.entries()) {
      await eventually(async () =>
        (await d.api.tasks({ agent: REVIEWERS[i]!, state: "offered" })).length === 1
      );
    }
    const cancelled = await w.boss.api.request<{ task: { state: string } }>(
      "POST",
      `/v1/tasks/${t.id}/cancel`,
      { reason: "done elsewhere" },
    );
    assertEquals(cancelled.task.state, "cancelled");
    for (const d of w.candidates) {
      await eventually(async () => (await view(d, t.id)).state === "cancelled");
    }
    await refused(() => claim(w.candidates[0]!, t.id, R1), "illegal_transition", "cancelled");
  } finally {
    await w.close();
  }
});

Deno.test("a claim whose assignment could not be sent is assigned by the daemon's sweep", async () => {
  const w = await startClaimsWorld();
  try {
    const daemon = w.boss.running.daemon;
    const t = await offer(w.boss, REVIEWERS, "retry", { claim: true });
    await eventually(async () => (await view(w.candidates[0]!, t.id)).state === "offered");
    // The first attempt to send the assignment fails (as if the daemon stopped before it).
    const send = daemon.outbox.send.bind(daemon.outbox);
    let failed = 0;
    daemon.outbox.send = (spec) => {
      if (spec.type === "task_assign" && failed++ === 0) throw new Error("stopped");
      return send(spec);
    };
    await claim(w.candidates[0]!, t.id, R1);
    await eventually(async () =>
      (await w.boss.api.task(t.id)).events.some((e) => e.type === "task_claim") && failed === 1
    );
    assertEquals((await view(w.boss, t.id)).state, "offered");
    assertEquals(await assignClaimed(daemon), [t.id]);
    assertEquals((await view(w.boss, t.id)).worker, R1);
    await eventually(async () => (await view(w.candidates[0]!, t.id)).state === "accepted");
    assertEquals(await assignClaimed(daemon), []);
  } finally {
    await w.close();
  }
});

Deno.test("a candidate whose claim the relay refuses (already assigned) withdraws; its offer is not rebuilt as a direct task", async () => {
  const w = await startClaimsWorld();
  try {
    const [c1, c2] = w.candidates as [TestDaemon, TestDaemon, TestDaemon];
    const t = await offer(w.boss, REVIEWERS, "late claim", { claim: true });
    for (const d of [c1, c2]) {
      await eventually(async () => (await view(d, t.id)).state === "offered");
    }
    // c2 is cut off from the relay while c1 wins; its claim waits in its outbox.
    const link = c2.running.daemon.link!;
    await link.stop();
    await relayed(c1, t.id, R1);
    await eventually(async () => (await view(w.boss, t.id)).worker === R1);
    await claim(c2, t.id, R2);
    link.start();
    // Back online, c2 gets the assignment and the relay's refusal of its claim, in either order.
    const sent = (await c2.api.task(t.id)).events.findLast((e) => e.type === "task_claim")!;
    await eventually(async () => (await c2.api.message(sent.event_id)).state === "failed");
    const late = await eventually(async () => {
      const v = await view(c2, t.id);
      return v.state === "withdrawn" ? v : null;
    });
    assertEquals(late.worker, "");
    assertEquals(late.candidates, REVIEWERS);
    assertEquals((await view(c1, t.id)).state, "accepted");
  } finally {
    await w.close();
  }
});
