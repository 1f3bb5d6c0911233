/**
 * Delivery guarantees end to end (design §7): at-least-once from daemon to daemon through
 * restarts of either daemon or the relay, exactly-once effect by envelope id.
 */
import { assertEquals } from "../assert.ts";
import { verifyChain } from "../../lib/client/mod.ts";
import type { TaskDetail } from "../../lib/sdk/mod.ts";
import { eventually, startWorld, type TestDaemon } from "./world.ts";
import { ALICE, BOB, dbCount, hookDeliveries, sleep, wholeInbox } from "./helpers.ts";

async function messageStates(t: TestDaemon, ids: string[]): Promise<string[]> {
  return await Promise.all(ids.map(async (id) => (await t.api.message(id)).state));
}

async function taskIn(t: TestDaemon, id: string, state: string): Promise<TaskDetail> {
  return await eventually(async () => {
    const d = await t.api.task(id);
    return d.task.state === state ? d : null;
  });
}

/** No envelope id appears twice in an inbox. */
function assertUnique(ids: string[], what: string) {
  assertEquals(new Set(ids).size, ids.length, `${what} has duplicates: ${ids.join(", ")}`);
}

Deno.test("reliability: messages and a task sent while the peer daemon is down arrive in order after it restarts", async () => {
  const w = await startWorld();
  try {
    await w.bob.close();
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) {
      ids.push((await w.alice.api.send({ from: ALICE, to: BOB, text: `note ${i}` })).message.id);
    }
    const created = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Summarise the log",
      instructions: "Three bullet points.",
    });
    ids.push(created.message.id);
    ids.push((await w.alice.api.send({ from: ALICE, to: BOB, text: "after the task" })).message.id);

    // The relay stored every envelope for bob; none can be delivered yet (bob's daemon is down,
    // so no wait is needed to be sure of that).
    await eventually(async () =>
      (await messageStates(w.alice, ids)).every((s) => s === "accepted")
    );

    w.bob = await w.bob.start();
    const got = await eventually(async () => {
      const items = (await wholeInbox(w.bob, BOB)).filter((m) => ids.includes(m.id));
      return items.length === ids.length ? items : null;
    });
    assertEquals(got.map((m) => m.id), ids, "delivered in the order alice sent them");
    assertEquals(got.map((m) => m.payload.text ?? m.payload.title), [
      "note 1",
      "note 2",
      "note 3",
      "note 4",
      "Summarise the log",
      "after the task",
    ]);
    await eventually(async () =>
      (await messageStates(w.alice, ids)).every((s) => s === "delivered")
    );

    // The task arrived intact and the flow goes on from it.
    const task = await w.bob.api.task(created.task.id);
    assertEquals(task.task.state, "requested");
    assertEquals(task.task.requester, ALICE);
    await w.bob.api.acceptTask(created.task.id);
    await taskIn(w.alice, created.task.id, "accepted");
  } finally {
    await w.close();
  }
});

Deno.test("reliability: daemon and relay restarts mid-flow lose nothing and the task completes", async () => {
  const w = await startWorld();
  try {
    const created = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Write a limerick",
      instructions: "About a relay that never sleeps.",
      max_revisions: 2,
    });
    const taskId = created.task.id;
    const req = await w.bob.api.waitForInbox(BOB, (m) => m.task_id === taskId);

    // Bob's daemon restarts, then accepts.
    w.bob = await w.bob.restart();
    await w.bob.api.acceptTask(taskId);
    await taskIn(w.alice, taskId, "accepted");

    // The relay goes down; bob submits while it is down (the outbox holds it).
    await w.relay.close();
    const v1 = await w.bob.api.submitArtifact(taskId, { content: "v1: a relay in Ghent" });
    assertEquals(v1.task.state, "submitted");
    await w.startRelay();
    const a1 = await w.alice.api.waitForInbox(
      ALICE,
      (m) => m.type === "artifact_submit" && m.task_id === taskId,
    );
    assertEquals(a1.item.payload.version, 1);

    // Alice's daemon restarts, then asks for a revision; the relay restarts right after.
    w.alice = await w.alice.restart();
    await w.alice.api.requestRevision(taskId, { feedback: "funnier" });
    w.relay = await w.relay.restart();
    await w.bob.api.waitForInbox(BOB, (m) => m.type === "revision_request", { after: req.after });

    // Both daemons restart at once; bob submits v2 while alice is still down.
    await w.alice.close();
    w.bob = await w.bob.restart();
    await w.bob.api.submitArtifact(taskId, { content: "v2: a relay in Ghent, now funnier" });
    w.alice = await w.alice.start();
    await w.alice.api.waitForInbox(
      ALICE,
      (m) => m.type === "artifact_submit" && m.payload.version === 2,
      { after: a1.after },
    );
    await w.alice.api.completeTask(taskId, { note: "lovely" });

    const bobSide = await taskIn(w.bob, taskId, "completed");
    const aliceSide = await w.alice.api.task(taskId);
    assertEquals(aliceSide.task.state, "completed");
    for (const side of [aliceSide, bobSide]) {
      assertEquals(side.task.artifact_version, 2);
      assertEquals(side.task.revisions, 1);
      assertEquals(side.artifacts.map((a) => a.version), [1, 2]);
      assertEquals(side.events.map((e) => e.type), [
        "task_request",
        "task_accept",
        "artifact_submit",
        "revision_request",
        "artifact_submit",
        "task_complete",
      ]);
    }
    assertEquals(verifyChain(w.alice.running.daemon, taskId), null);
    assertEquals(verifyChain(w.bob.running.daemon, taskId), null);

    // Every envelope either side sent got through; nothing failed or waits in an outbox.
    for (const t of [w.alice, w.bob]) {
      await eventually(() =>
        Promise.resolve(
          dbCount(t, "SELECT count(*) AS n FROM outbox WHERE state != 'accepted'") === 0 &&
            dbCount(
                t,
                "SELECT count(*) AS n FROM messages WHERE direction = 'out' AND state IN ('queued', 'accepted', 'failed')",
              ) === 0,
        )
      );
    }
  } finally {
    await w.close();
  }
});

Deno.test("reliability: envelopes redelivered after a crash before the ack are applied once", async () => {
  const w = await startWorld();
  try {
    const crashTypes = [
      "message",
      "task_request",
      "task_accept",
      "artifact_submit",
      "revision_request",
      "task_complete",
      "receipt",
    ];
    const seenByBob = hookDeliveries(w.bob, { crashTypes });
    const seenByAlice = hookDeliveries(w.alice, { crashTypes });

    const hello = await w.alice.api.send({ from: ALICE, to: BOB, text: "hello twice?" });
    const created = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Translate",
      instructions: "Into Dutch.",
      max_revisions: 2,
    });
    const taskId = created.task.id;
    let bobAfter = (await w.bob.api.waitForInbox(BOB, (m) => m.task_id === taskId)).after;
    let aliceAfter = 0;
    await w.bob.api.acceptTask(taskId);
    for (let v = 1; v <= 3; v++) {
      await w.bob.api.submitArtifact(taskId, { content: `vertaling ${v}` });
      aliceAfter = (await w.alice.api.waitForInbox(
        ALICE,
        (m) => m.type === "artifact_submit" && m.payload.version === v,
        { after: aliceAfter },
      )).after;
      if (v < 3) {
        await w.alice.api.requestRevision(taskId, { feedback: `better, round ${v}` });
        bobAfter = (await w.bob.api.waitForInbox(BOB, (m) => m.type === "revision_request", {
          after: bobAfter,
        })).after;
      }
    }
    await w.alice.api.completeTask(taskId);
    await taskIn(w.bob, taskId, "completed");
    const got = await w.bob.api.waitForInbox(BOB, (m) => m.id === hello.message.id);
    await w.bob.api.ack(got.item.id, "processed");
    await eventually(async () =>
      (await w.alice.api.message(hello.message.id)).state === "processed"
    );

    // Redelivery really happened, for every envelope involved (the last ones may still be on
    // their way back: wait for them, bounded).
    const seen = () => [...seenByBob, ...seenByAlice];
    await eventually(() => Promise.resolve(seen().every(([, n]) => n >= 2)), 5000);
    assertEquals(seenByBob.size, 5, "message, task_request, 2 revision_requests, task_complete");
    assertEquals(seenByAlice.size, 5, "task_accept, 3 artifact_submits, receipt");

    for (const t of [w.alice, w.bob]) {
      const d = await t.api.task(taskId);
      assertEquals(d.task.state, "completed");
      assertEquals(d.task.revisions, 2, "each revision request counted once");
      assertEquals(d.task.artifact_version, 3);
      assertEquals(d.artifacts.map((a) => a.version), [1, 2, 3]);
      assertEquals(d.artifacts.map((a) => a.content), [
        "vertaling 1",
        "vertaling 2",
        "vertaling 3",
      ]);
      assertEquals(d.events.map((e) => e.type), [
        "task_request",
        "task_accept",
        "artifact_submit",
        "revision_request",
        "artifact_submit",
        "revision_request",
        "artifact_submit",
        "task_complete",
      ]);
      assertUnique(d.events.map((e) => e.event_id), "the timeline");
      assertEquals(verifyChain(t.running.daemon, taskId), null);
      assertEquals(
        dbCount(
          t,
          "SELECT count(*) AS n FROM (SELECT id FROM messages GROUP BY id, agent HAVING count(*) > 1)",
        ),
        0,
      );
    }
    const bobInbox = await wholeInbox(w.bob, BOB);
    const aliceInbox = await wholeInbox(w.alice, ALICE);
    assertUnique(bobInbox.map((m) => m.id), "bob's inbox");
    assertUnique(aliceInbox.map((m) => m.id), "alice's inbox");
    assertEquals(bobInbox.filter((m) => m.id === hello.message.id).length, 1);
    assertEquals(bobInbox.filter((m) => m.type === "revision_request").length, 2);
    assertEquals(aliceInbox.filter((m) => m.type === "artifact_submit").length, 3);
  } finally {
    await w.close();
  }
});

Deno.test("reliability: a relay restart before the ack, and a slow ack, both redeliver without double effects", async () => {
  const w = await startWorld();
  try {
    // 1. Bob's daemon holds the delivery until the relay has gone away and come back.
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    let holding = false;
    const seen = hookDeliveries(w.bob, {
      before: async (env, attempt) => {
        if (env.type === "message" && attempt === 1 && !holding) {
          holding = true;
          await held;
        }
      },
    });
    const first = await w.alice.api.send({ from: ALICE, to: BOB, text: "held" });
    await eventually(() => Promise.resolve(holding));
    w.relay = await w.relay.restart();
    release();
    await w.bob.api.waitForInbox(BOB, (m) => m.id === first.message.id);
    await eventually(() => Promise.resolve((seen.get(first.message.id) ?? 0) >= 2));
    await eventually(async () =>
      (await w.alice.api.message(first.message.id)).state === "delivered"
    );

    // 2. A daemon slower than the relay's retry interval gets the frame again on the same socket.
    const slow = hookDeliveries(w.bob, {
      before: async (env, attempt) => {
        // Deliberate: the fault is a duration (slower than the relay's 200 ms retry interval).
        if (env.type === "message" && attempt === 1) await sleep(700);
      },
    });
    const second = await w.alice.api.send({ from: ALICE, to: BOB, text: "slow" });
    await w.bob.api.waitForInbox(BOB, (m) => m.id === second.message.id);
    await eventually(() => Promise.resolve((slow.get(second.message.id) ?? 0) >= 2));
    await eventually(async () =>
      (await w.alice.api.message(second.message.id)).state === "delivered"
    );

    const inbox = await wholeInbox(w.bob, BOB);
    assertEquals(inbox.filter((m) => m.id === first.message.id).length, 1);
    assertEquals(inbox.filter((m) => m.id === second.message.id).length, 1);
    assertUnique(inbox.map((m) => m.id), "bob's inbox");
    assertEquals(
      dbCount(
        w.bob,
        "SELECT count(*) AS n FROM messages WHERE id IN (?, ?)",
        first.message.id,
        second.message.id,
      ),
      2,
    );
  } finally {
    await w.close();
  }
});
