/**
 * Issue 15, the daemons' side: `task_progress` and `task_fail` through two real daemons and the
 * relay. Progress reaches the requester live (SSE) and in the task's bounded progress tail,
 * changes no state and no audit chain, and is refused outside accepted/revision_requested;
 * `task_fail` ends the task `failed` at both ends with its reason and code.
 */
import { ApiError } from "../../lib/sdk/mod.ts";
import { PROGRESS_KEEP } from "../../lib/client/store/tasks.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ALICE, BOB, dbCount, outboxCount, wholeInbox } from "./helpers.ts";
import { openEvents } from "./sse.ts";
import { eventually, startWorld, type World } from "./world.ts";

/** A task from alice to bob, accepted by bob and seen accepted by alice. */
async function acceptedTask(w: World, title: string): Promise<string> {
  const created = await w.alice.api.createTask({
    from: ALICE,
    to: BOB,
    title,
    instructions: "work on it",
  });
  const id = created.task.id;
  await eventually(async () => (await w.bob.api.task(id).catch(() => null))?.task.state);
  await w.bob.api.acceptTask(id);
  await w.alice.api.waitForTask(id, { states: ["accepted"], timeoutMs: 10_000 });
  return id;
}

/** The catalogue code of a failed SDK call. */
async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  return String((await assertRejects(fn, ApiError)).code);
}

Deno.test("progress: reaches the requester live and in the tail, changes no state, is refused outside a run", async () => {
  const w = await startWorld();
  const sse = await openEvents(w.alice.running.url, w.alice.token, ALICE);
  try {
    const id = await acceptedTask(w, "Progress please");
    const before = await w.alice.api.task(id);

    const sent = await w.bob.api.progress(id, "step 1 of 3: reading", { queue_position: 2 });
    assertEquals(sent.task.state, "accepted");
    const live = await sse.next((e) => e.event === "task_progress" && e.data.task_id === id);
    assertEquals(live.data.from, BOB);
    assertEquals(live.data.text, "step 1 of 3: reading");
    assertEquals(live.data.queue_position, 2);
    assertEquals(live.data.agent, ALICE);
    assertEquals(live.data.message_id, sent.message.id);
    assert(typeof live.data.at === "string" && !Number.isNaN(Date.parse(live.data.at as string)));

    await w.bob.api.progress(id, "step 2 of 3: writing");
    await sse.next((e) => e.event === "task_progress" && e.data.text === "step 2 of 3: writing");

    // The requester's task: same state and audit chain, the lines in its progress tail.
    const after = await w.alice.api.task(id);
    assertEquals(after.task.state, "accepted");
    assertEquals(after.events.map((e) => e.event_id), before.events.map((e) => e.event_id));
    assertEquals(after.progress.map((p) => p.text), [
      "step 1 of 3: reading",
      "step 2 of 3: writing",
    ]);
    assertEquals(after.progress[0]!.queue_position, 2);
    assertEquals(after.progress[1]!.queue_position, undefined);
    assertEquals(after.task.last_progress?.text, "step 2 of 3: writing");
    assertEquals((await w.alice.api.tasks({ agent: ALICE }))[0]!.last_progress?.from, BOB);
    // The worker's side keeps them too; neither side's audit chain holds a progress event.
    assertEquals((await w.bob.api.task(id)).progress.length, 2);
    for (const t of [w.alice, w.bob]) {
      assertEquals(
        dbCount(t, "SELECT count(*) AS n FROM task_events WHERE type = 'task_progress'"),
        0,
      );
    }
    // Progress is no inbox item: the requester follows it live, not by polling its inbox.
    assert(!(await wholeInbox(w.alice, ALICE)).some((m) => m.type === "task_progress"));
    // No state change was streamed for it.
    assert(!sse.events.some((e) => e.event === "task" && e.data.type === "task_progress"));

    // Refused with a catalogue code, nothing sent: by the requester, and outside a run.
    const outbox = outboxCount(w.bob);
    assertEquals(
      await codeOf(() => w.alice.api.progress(id, "not mine", { agent: ALICE })),
      "task_role",
    );
    await w.bob.api.submitArtifact(id, { content: "done" });
    assertEquals(await codeOf(() => w.bob.api.progress(id, "after submit")), "illegal_transition");
    assertEquals(outboxCount(w.bob), outbox + 1);

    // A revision round allows progress again.
    await w.alice.api.waitForTask(id, { states: ["submitted"], timeoutMs: 10_000 });
    await w.alice.api.requestRevision(id, { feedback: "again" });
    await w.bob.api.waitForTask(id, { states: ["revision_requested"], timeoutMs: 10_000 });
    await w.bob.api.progress(id, "revising");
    await sse.next((e) => e.event === "task_progress" && e.data.text === "revising");

    // A fresh task still `requested` refuses progress too.
    const fresh = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "t",
      instructions: "i",
    });
    await eventually(async () => (await w.bob.api.task(fresh.task.id).catch(() => null))?.task);
    assertEquals(
      await codeOf(() => w.bob.api.progress(fresh.task.id, "early")),
      "illegal_transition",
    );
    // Bad bodies: the schema's catalogue error.
    assertEquals(await codeOf(() => w.bob.api.progress(id, "")), "validation_failed");
  } finally {
    await sse.close();
    await w.close();
  }
});

Deno.test("progress: each task keeps only its latest lines, envelopes included", async () => {
  const w = await startWorld();
  try {
    const id = await acceptedTask(w, "Long run");
    const total = PROGRESS_KEEP + 20;
    for (let i = 1; i <= total; i++) await w.bob.api.progress(id, `line ${i}`);
    const detail = await eventually(async () => {
      const d = await w.alice.api.task(id);
      return d.progress.at(-1)?.text === `line ${total}` ? d : null;
    });
    assertEquals(detail.progress.length, PROGRESS_KEEP);
    assertEquals(detail.progress[0]!.text, "line 21");
    // The dropped lines' envelopes leave the message log at both ends, and the worker's sent
    // outbox rows with them: a long run costs a bounded amount of disk.
    const progressRows = "SELECT count(*) AS n FROM messages WHERE type = 'task_progress'";
    assertEquals(dbCount(w.alice, progressRows), PROGRESS_KEEP);
    await eventually(() =>
      Promise.resolve(
        dbCount(w.bob, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'") === 0,
      )
    );
    assertEquals(dbCount(w.bob, progressRows), PROGRESS_KEEP);
    assert(dbCount(w.bob, "SELECT count(*) AS n FROM outbox") <= PROGRESS_KEEP + 5);
    // The same message id again (a redelivery, or both parties on one daemon) adds nothing.
    const store = w.alice.running.daemon.store;
    const last = detail.progress.at(-1)!;
    assert(!store.tasks.addProgress(id, { ...last, text: "again" }));
    assertEquals((await w.alice.api.task(id)).progress.at(-1)!.text, `line ${total}`);
  } finally {
    await w.close();
  }
});

Deno.test("fail: the task ends failed at both ends with reason and code; waitForTask wakes on it", async () => {
  const w = await startWorld();
  const sse = await openEvents(w.alice.running.url, w.alice.token, ALICE);
  try {
    const id = await acceptedTask(w, "Doomed");
    const waiting = w.alice.api.waitForTask(id, { timeoutMs: 10_000 });
    assertEquals(await codeOf(() => w.bob.api.failTask(id, "x", "Bad Code")), "validation_failed");
    const failed = await w.bob.api.failTask(id, "exit status 3: out of memory", "exit_3");
    assertEquals(failed.task.state, "failed");
    assertEquals(failed.task.failure?.reason, "exit status 3: out of memory");
    const seen = await waiting;
    assertEquals(seen.task.state, "failed");
    assertEquals(seen.task.failure?.code, "exit_3");
    assertEquals(seen.task.failure?.reason, "exit status 3: out of memory");
    const ev = seen.events.at(-1)!;
    assertEquals([ev.type, ev.actor, ev.data.code], ["task_fail", BOB, "exit_3"]);
    const live = await sse.next((e) =>
      e.event === "task" && e.data.id === id && e.data.type === "task_fail"
    );
    assertEquals(live.data.state, "failed");
    // Terminal: nothing more from either side.
    assertEquals(await codeOf(() => w.bob.api.progress(id, "late")), "illegal_transition");
    assertEquals(await codeOf(() => w.bob.api.failTask(id, "again")), "illegal_transition");
    assertEquals(await codeOf(() => w.alice.api.cancelTask(id)), "illegal_transition");
    assertEquals((await w.bob.api.task(id)).task.allowed_actions[BOB], []);
    // The failure is in the requester's inbox (a state change it must learn of), once.
    const items = await wholeInbox(w.alice, ALICE);
    assertEquals(items.filter((m) => m.type === "task_fail" && m.task_id === id).length, 1);
    // A wait for a state the task already has answers at once; a bad state is refused.
    const t0 = Date.now();
    assertEquals((await w.alice.api.waitForTask(id, { states: ["failed"] })).task.state, "failed");
    assert(Date.now() - t0 < 2000);
    const bad = await w.alice.api.request("GET", `/v1/tasks/${id}`, undefined, {
      wait: 1,
      states: "done",
    })
      .catch((e) => e);
    assertEquals((bad as ApiError).code, "validation_failed");
  } finally {
    await sse.close();
    await w.close();
  }
});

Deno.test("progress: the relay applies the task machine too (a daemon that skips its own check)", async () => {
  const w = await startWorld();
  try {
    const created = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Not accepted yet",
      instructions: "-",
    });
    const id = created.task.id;
    await eventually(async () => (await w.bob.api.task(id).catch(() => null))?.task);
    // Bob's daemon sends progress straight from its outbox, past the local state check, while
    // the task is still `requested`: the relay refuses it with the machine's code, and a
    // refused line is not kept.
    const sent = await w.bob.running.daemon.outbox.send({
      from: BOB,
      to: [ALICE],
      type: "task_progress",
      task_id: id,
      payload: { text: "sneaky" },
      effects: (msgId, at) => {
        w.bob.running.daemon.store.tasks.addProgress(id, {
          message_id: msgId,
          from: BOB,
          text: "sneaky",
          at,
        });
      },
    });
    const refused = await eventually(async () => {
      const m = await w.bob.api.message(sent.id);
      return m.state === "failed" ? m : null;
    });
    assert(refused.state_reason?.startsWith("illegal_transition"), refused.state_reason);
    await eventually(async () => (await w.bob.api.task(id)).progress.length === 0);
    assertEquals((await w.alice.api.task(id)).progress, []);
    assertEquals((await w.alice.api.task(id)).task.state, "requested");
  } finally {
    await w.close();
  }
});

Deno.test("progress: both parties on one daemon — one line, one event per party, then failed", async () => {
  const w = await startWorld();
  const EDITOR = "@bob/editor";
  const sse = await openEvents(w.bob.running.url, w.bob.token, BOB);
  try {
    await w.bob.api.createAgent({ handle: EDITOR });
    await w.bob.api.connect({ from: BOB, to: EDITOR });
    await w.bob.api.waitForInbox(EDITOR, (m) => m.type === "connection_request");
    await w.bob.api.acceptConnection(BOB, { agent: EDITOR });
    await eventually(async () =>
      (await w.bob.api.connections(BOB)).find((c) => c.peer === EDITOR)?.state === "connected"
    );
    const created = await w.bob.api.createTask({
      from: BOB,
      to: EDITOR,
      title: "In house",
      instructions: "-",
    });
    const id = created.task.id;
    await w.bob.api.waitForInbox(EDITOR, (m) => m.task_id === id);
    await w.bob.api.acceptTask(id, { agent: EDITOR });
    const sent = await w.bob.api.progress(id, "editing", { agent: EDITOR });
    const live = await sse.next((e) => e.event === "task_progress" && e.data.task_id === id);
    assertEquals([live.data.agent, live.data.message_id], [BOB, sent.message.id]);
    // The envelope comes back through the relay to the same daemon: still one line.
    await eventually(async () =>
      (await w.bob.api.message(sent.message.id).catch(() => null))?.state === "delivered"
    );
    assertEquals((await w.bob.api.task(id)).progress.map((p) => p.text), ["editing"]);
    await w.bob.api.failTask(id, "gave up", undefined, { agent: EDITOR });
    const failed = await w.bob.api.waitForTask(id, { states: ["failed"] });
    assertEquals(failed.task.failure?.reason, "gave up");
    assertEquals(
      sse.events.filter((e) => e.event === "task_progress" && e.data.agent === BOB).length,
      1,
    );
  } finally {
    await sse.close();
    await w.close();
  }
});
