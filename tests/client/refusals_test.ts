/**
 * Refusals: out-of-role and illegal task actions are refused locally with their catalogue
 * codes before anything is sent; owner gates and permission edits hold; deadlines expire.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { newId } from "../../lib/protocol/mod.ts";
import { expireDue } from "../../lib/client/mod.ts";
import { ApiError } from "../../lib/sdk/mod.ts";
import { eventually, startWorld, type TestDaemon } from "./world.ts";
import { ALICE, BOB, dbCount, outboxCount, wholeInbox } from "./helpers.ts";

/** Sent-envelope counters of a daemon: outbox rows and outbound message rows. */
function sentCount(t: TestDaemon): number {
  // Receipts go out on their own (batched `delivered` receipts for earlier messages): not counted.
  return outboxCount(t) +
    dbCount(t, "SELECT count(*) AS n FROM messages WHERE direction = 'out' AND type != 'receipt'");
}

/** Expects `fn` to be refused with `status`/`code` and to send nothing from `t`. */
async function refused(
  t: TestDaemon,
  fn: () => Promise<unknown>,
  status: number,
  code: string,
  what: string,
) {
  const before = sentCount(t);
  const err = await assertRejects(fn, ApiError);
  assertEquals([err.status, err.code], [status, code], `${what}: ${err.message}`);
  assertEquals(sentCount(t), before, `${what} sent something`);
}

Deno.test("refusals: wrong-role and illegal task actions are refused locally with their codes", async () => {
  const w = await startWorld();
  try {
    const { alice, bob } = w;
    await refused(
      bob,
      () => bob.api.acceptTask(newId("task")),
      404,
      "task_not_found",
      "unknown task",
    );
    await refused(
      alice,
      () => alice.api.completeTask(newId("task")),
      404,
      "task_not_found",
      "unknown task",
    );

    const created = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Name the boat",
      instructions: "Three options.",
      max_revisions: 1,
    });
    const id = created.task.id;
    await bob.api.waitForInbox(BOB, (m) => m.task_id === id);

    await refused(bob, () => bob.api.completeTask(id), 403, "task_role", "worker completes");
    await refused(bob, () => bob.api.cancelTask(id), 403, "task_role", "worker cancels");
    await refused(alice, () => alice.api.acceptTask(id), 403, "task_role", "requester accepts");
    await refused(
      alice,
      () => alice.api.submitArtifact(id, { content: "mine" }),
      403,
      "task_role",
      "requester submits",
    );
    await refused(
      bob,
      () => bob.api.submitArtifact(id, { content: "early" }),
      409,
      "illegal_transition",
      "submit before accept",
    );

    await bob.api.acceptTask(id);
    await eventually(async () => (await alice.api.task(id)).task.state === "accepted");
    await refused(
      alice,
      () => alice.api.completeTask(id),
      409,
      "illegal_transition",
      "complete before submit",
    );
    await refused(
      alice,
      () => alice.api.requestRevision(id, { feedback: "nothing to revise" }),
      409,
      "illegal_transition",
      "revision before submit",
    );
    await refused(bob, () => bob.api.acceptTask(id), 409, "illegal_transition", "accept twice");
    await refused(
      alice,
      () => alice.api.request("POST", `/v1/tasks/${id}/revisions`, {}),
      400,
      "validation_failed",
      "revision without feedback",
    );

    await bob.api.submitArtifact(id, { content: "Ferry McFerryface" });
    await eventually(async () => (await alice.api.task(id)).task.artifact_version === 1);
    await alice.api.requestRevision(id, { feedback: "serious names" });
    await eventually(async () => (await bob.api.task(id)).task.state === "revision_requested");
    await bob.api.submitArtifact(id, { content: "Constance" });
    await eventually(async () => (await alice.api.task(id)).task.artifact_version === 2);
    const view = (await alice.api.task(id)).task;
    assertEquals(view.allowed_actions[ALICE], ["task_complete", "task_cancel"]);
    await refused(
      alice,
      () => alice.api.requestRevision(id, { feedback: "once more" }),
      409,
      "max_revisions_reached",
      "revision beyond max_revisions",
    );
    await refused(
      alice,
      () => alice.api.requestRevision(id, { feedback: "the old one", artifact_version: 1 }),
      409,
      "max_revisions_reached",
      "stale revision",
    );

    await alice.api.completeTask(id);
    await eventually(async () => (await bob.api.task(id)).task.state === "completed");
    await refused(
      bob,
      () => bob.api.submitArtifact(id, { content: "late" }),
      409,
      "illegal_transition",
      "submit after completion",
    );
    await refused(
      alice,
      () => alice.api.cancelTask(id),
      409,
      "illegal_transition",
      "cancel after completion",
    );

    // Both sides agree, and nothing refused left a trace in the timeline.
    for (const t of [alice, bob]) {
      const d = await t.api.task(id);
      assertEquals(d.task.revisions, 1);
      assertEquals(d.events.map((e) => e.type), [
        "task_request",
        "task_accept",
        "artifact_submit",
        "revision_request",
        "artifact_submit",
        "task_complete",
      ]);
    }
  } finally {
    await w.close();
  }
});

Deno.test("refusals: with require_human_gate a task waits for the owner's approval; reject declines it", async () => {
  const w = await startWorld({ permissions: { require_human_gate: true } });
  try {
    const { alice, bob } = w;
    const conn = (await bob.api.connections(BOB)).find((c) => c.peer === ALICE)!;
    assertEquals(conn.permissions.require_human_gate, true);

    const t1 = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Gated one",
      instructions: "Wait for the owner.",
    });
    const hello = await alice.api.send({ from: ALICE, to: BOB, text: "messages are not gated" });
    await bob.api.waitForInbox(BOB, (m) => m.id === hello.message.id);
    // The task has arrived (the owner's view shows it, pending) …
    const gated = await eventually(async () =>
      (await bob.api.tasks()).find((t) => t.id === t1.task.id && t.gate === "pending")
    );
    assertEquals(gated.state, "requested");
    assertEquals(gated.allowed_actions[BOB], []);
    assertEquals((await bob.api.health()).counts.gated_tasks, 1);
    // … but bob's agent sees nothing of it.
    assert(!(await wholeInbox(bob, BOB)).some((m) => m.task_id === t1.task.id), "inbox shows it");
    assertEquals((await bob.api.tasks({ agent: BOB })).map((t) => t.id), []);
    assertEquals((await bob.api.inbox({ agent: BOB, type: "task_request" })).items, []);
    await refused(
      bob,
      () => bob.api.acceptTask(t1.task.id),
      409,
      "gate_pending",
      "accept while gated",
    );
    await refused(
      bob,
      () => bob.api.declineTask(t1.task.id),
      409,
      "gate_pending",
      "decline while gated",
    );
    assertEquals((await alice.api.task(t1.task.id)).task.gate, "none", "the gate is bob's alone");

    // The owner approves: now the agent sees it and can act.
    const approved = await bob.api.approveTask(t1.task.id);
    assertEquals(approved.task.gate, "approved");
    const req = await bob.api.waitForInbox(BOB, (m) => m.task_id === t1.task.id, {
      timeoutMs: 3000,
    });
    assertEquals(req.item.type, "task_request");
    assertEquals((await bob.api.tasks({ agent: BOB })).map((t) => t.id), [t1.task.id]);
    const again = await assertRejects(() => bob.api.approveTask(t1.task.id), ApiError);
    assertEquals(again.code, "conflict");
    await bob.api.acceptTask(t1.task.id);
    await eventually(async () => (await alice.api.task(t1.task.id)).task.state === "accepted");

    // A second task: the owner rejects it, alice learns it was declined.
    const t2 = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Gated two",
      instructions: "Will be rejected.",
    });
    await eventually(async () =>
      (await bob.api.tasks()).some((t) => t.id === t2.task.id && t.gate === "pending")
    );
    const rejected = await bob.api.rejectTask(t2.task.id, "not this week");
    assertEquals(rejected.task.gate, "rejected");
    assertEquals(rejected.task.state, "declined");
    const aliceSide = await eventually(async () => {
      const d = await alice.api.task(t2.task.id);
      return d.task.state === "declined" ? d : null;
    });
    assertEquals(aliceSide.events.at(-1)?.data.reason, "not this week");
    await alice.api.waitForInbox(
      ALICE,
      (m) => m.type === "task_decline" && m.task_id === t2.task.id,
    );
    assert(
      !(await wholeInbox(bob, BOB)).some((m) => m.task_id === t2.task.id),
      "rejected task shown",
    );
    assertEquals((await bob.api.tasks({ agent: BOB })).map((t) => t.id), [t1.task.id]);
    assertEquals((await bob.api.health()).counts.gated_tasks, 0);

    // A third: alice cancels it while it waits; the owner's rejection still stands and the
    // agent never sees it.
    const t3 = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Gated three",
      instructions: "Cancelled while waiting.",
    });
    await eventually(async () =>
      (await bob.api.tasks()).some((t) => t.id === t3.task.id && t.gate === "pending")
    );
    await alice.api.cancelTask(t3.task.id);
    await eventually(async () => (await bob.api.task(t3.task.id)).task.state === "cancelled");
    const sent = outboxCount(bob);
    const late = await bob.api.rejectTask(t3.task.id);
    assertEquals([late.task.state, late.task.gate], ["cancelled", "rejected"]);
    assertEquals(outboxCount(bob), sent, "nothing to decline");
    assertEquals((await bob.api.tasks({ agent: BOB })).map((t) => t.id), [t1.task.id]);
    assert(!(await wholeInbox(bob, BOB)).some((m) => m.task_id === t3.task.id));
  } finally {
    await w.close();
  }
});

Deno.test("refusals: an owner's permission edit is enforced by the relay", async () => {
  const w = await startWorld();
  try {
    const { alice, bob } = w;
    const edited = await bob.api.setPermissions(ALICE, BOB, { can_message: false });
    assertEquals(edited.permissions.can_message, false);
    assertEquals(edited.permissions.can_send_task, true);

    const blocked = await alice.api.send({ from: ALICE, to: BOB, text: "can you hear me?" });
    const failed = await eventually(async () => {
      const m = await alice.api.message(blocked.message.id);
      return m.state === "failed" ? m : null;
    });
    assert(failed.state_reason?.startsWith("permission_denied"), failed.state_reason);

    // Tasks are still allowed, and arrive; the blocked message never does.
    const task = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Still allowed",
      instructions: "Tasks pass.",
    });
    await bob.api.waitForInbox(BOB, (m) => m.task_id === task.task.id);
    // No wait needed for the negative: the relay refused the message (alice saw `failed`), so it
    // was never stored and can never be delivered.
    assert(!(await wholeInbox(bob, BOB)).some((m) => m.id === blocked.message.id));
    assertEquals(
      dbCount(bob, "SELECT count(*) AS n FROM messages WHERE id = ?", blocked.message.id),
      0,
    );

    // Lifting it lets the next message through.
    await bob.api.setPermissions(ALICE, BOB, { can_message: true });
    const allowed = await alice.api.send({ from: ALICE, to: BOB, text: "now?" });
    await bob.api.waitForInbox(BOB, (m) => m.id === allowed.message.id);
    assertEquals((await alice.api.message(blocked.message.id)).state, "failed");
  } finally {
    await w.close();
  }
});

Deno.test("refusals: a task past its deadline expires on both sides", async () => {
  // Both daemons read this clock: the test moves it past the deadline instead of sleeping.
  let skew = 0;
  const w = await startWorld({ now: () => Date.now() + skew });
  try {
    const { alice, bob } = w;
    const deadline = new Date(Date.now() + 60_000).toISOString();
    const created = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Quick one",
      instructions: "Before the deadline.",
      deadline,
    });
    const id = created.task.id;
    assertEquals(created.task.deadline, deadline);
    await bob.api.waitForInbox(BOB, (m) => m.task_id === id);
    assertEquals((await bob.api.task(id)).task.deadline, deadline);
    await bob.api.acceptTask(id);
    await eventually(async () => (await alice.api.task(id)).task.state === "accepted");

    skew = Date.parse(deadline) - Date.now() + 1000;
    // Past the deadline, actions are refused even before the sweep runs.
    await refused(
      bob,
      () => bob.api.submitArtifact(id, { content: "too late" }),
      409,
      "task_expired",
      "late submit",
    );

    // The sweep (every 5 s in a running daemon) moves it to expired on both sides.
    expireDue(alice.running.daemon);
    expireDue(bob.running.daemon);
    for (const t of [alice, bob]) {
      const d = await t.api.task(id);
      assertEquals(d.task.state, "expired");
      assertEquals(d.events.at(-1)?.type, "expire");
      assertEquals(Object.values(d.task.allowed_actions).flat(), []);
      assertEquals((await t.api.health()).counts.open_tasks, 0);
      assertEquals((await t.api.tasks({ state: "expired" })).map((x) => x.id), [id]);
    }
    await refused(
      alice,
      () => alice.api.cancelTask(id),
      409,
      "task_expired",
      "cancel after expiry",
    );
    // A second sweep changes nothing.
    expireDue(bob.running.daemon);
    assertEquals((await bob.api.task(id)).events.filter((e) => e.type === "expire").length, 1);
  } finally {
    await w.close();
  }
});

Deno.test("refusals: a task request past the open-task limit fails and tells the requester", async () => {
  const w = await startWorld();
  try {
    const { alice, bob } = w;
    await bob.api.setPermissions(ALICE, BOB, { max_open_tasks: 1 });
    const first = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "One",
      instructions: "ok",
    });
    await bob.api.waitForInbox(BOB, (m) => m.task_id === first.task.id);
    const second = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Two",
      instructions: "no",
    });
    const failed = await eventually(async () => {
      const m = await alice.api.message(second.message.id);
      return m.state === "failed" ? m : null;
    });
    assert(failed.state_reason?.startsWith("too_many_open_tasks"), failed.state_reason);
    const detail = await alice.api.task(second.task.id);
    assertEquals(detail.task.state, "cancelled");
    assertEquals(detail.events.map((e) => e.type), ["task_request", "send_failed"]);
    // The first task is untouched, and bob never saw the second.
    assertEquals((await alice.api.task(first.task.id)).task.state, "requested");
    assert(!(await wholeInbox(bob, BOB)).some((m) => m.task_id === second.task.id));
  } finally {
    await w.close();
  }
});
