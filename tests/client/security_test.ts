/**
 * The daemon as the owner's trust boundary: pinned peer keys and quarantine (design §4) and
 * local agents kept apart. The loopback API's defences (design §8): loopback_guard_test.ts.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { decodeBase64Url, generateAgentKeys, newId, sealEnvelope } from "../../lib/protocol/mod.ts";
import { ApiError } from "../../lib/sdk/mod.ts";
import { eventually, startWorld } from "./world.ts";
import { ALICE, BOB, dbCount, dbRows, wholeInbox } from "./helpers.ts";

async function apiError(fn: () => Promise<unknown>): Promise<ApiError> {
  return await assertRejects(fn, ApiError);
}

Deno.test("security: a rotated peer key quarantines its envelopes until the owner accepts; reject keeps them out", async () => {
  const w = await startWorld();
  try {
    const pinnedFp = async () =>
      (await w.bob.api.connections(BOB)).find((c) => c.peer === ALICE)!.peer_fingerprint;
    const firstFp = await pinnedFp();
    assertEquals(firstFp, (await w.alice.api.agents())[0]!.fingerprint);

    // Receipts alice owes go out before each rotation: signed later, by the new key, bob would
    // hold them too (a receipt is an envelope like any other).
    const receiptsSent = () =>
      eventually(() =>
        Promise.resolve(
          w.alice.running.daemon.inbound.receipts.idle() &&
            dbCount(w.alice, "SELECT count(*) AS n FROM outbox WHERE state = 'pending'") === 0,
        )
      );
    await receiptsSent();
    // Alice's daemon rotates her keys at the relay, signed by the old key.
    const rotated = await w.alice.running.daemon.rotateAgentKeys(ALICE);
    assert(rotated.fingerprint !== firstFp);
    assertEquals(rotated.registered, true);
    const m1 = await w.alice.api.send({ from: ALICE, to: BOB, text: "new key, who dis" });

    const held = await eventually(async () =>
      (await w.bob.api.quarantine()).items.find((i) => i.id === m1.message.id)
    );
    assertEquals(held.reason, "key_changed");
    assertEquals(held.from, ALICE);
    assertEquals(held.type, "message");
    const listed = (await w.bob.api.request<{ items: Record<string, unknown>[] }>(
      "GET",
      "/v1/quarantine",
    )).items[0]!;
    assertEquals(listed.pinned_fingerprint, firstFp);
    assertEquals(
      (listed.presented_key as { signing_public_key: string }).signing_public_key,
      rotated.signing_public_key,
    );
    assertEquals((await w.bob.api.health()).counts.quarantined, 1);
    assert(!(await wholeInbox(w.bob, BOB)).some((m) => m.id === m1.message.id), "not in inbox");
    assertEquals(
      dbCount(w.bob, "SELECT count(*) AS n FROM messages WHERE id = ?", m1.message.id),
      0,
    );
    assertEquals(await pinnedFp(), firstFp, "the pin does not move by itself");

    // The owner accepts: re-pinned, and the held message is applied.
    const accepted = await w.bob.api.resolveQuarantine(m1.message.id, true);
    assertEquals(accepted, { id: m1.message.id, resolution: "accepted", applied: 1, dropped: 0 });
    const got = await w.bob.api.waitForInbox(BOB, (m) => m.id === m1.message.id, {
      timeoutMs: 5000,
    });
    assertEquals(got.item.payload.text, "new key, who dis");
    assertEquals(await pinnedFp(), rotated.fingerprint);
    assertEquals((await w.bob.api.quarantine()).items, []);
    assertEquals(
      (await apiError(() => w.bob.api.resolveQuarantine(m1.message.id, true))).code,
      "not_found",
    );
    // Bob now seals to the new encryption key too: alice can read his answer.
    const reply = await w.bob.api.send({ from: BOB, to: ALICE, text: "welcome back" });
    await w.alice.api.waitForInbox(ALICE, (m) => m.id === reply.message.id);

    // A second rotation; this time the owner rejects.
    await receiptsSent();
    const again = await w.alice.running.daemon.rotateAgentKeys(ALICE);
    const m2 = await w.alice.api.send({ from: ALICE, to: BOB, text: "trust me" });
    await eventually(async () =>
      (await w.bob.api.quarantine()).items.some((i) =>
        i.id === m2.message.id && i.reason === "key_changed"
      )
    );
    // Rejecting deletes the held bytes; keep a copy to redeliver below.
    const heldRaw = dbRows<{ envelope: string }>(
      w.bob,
      "SELECT envelope FROM quarantine WHERE id = ?",
      m2.message.id,
    )[0]!.envelope;
    assertEquals(
      await w.bob.api.resolveQuarantine(m2.message.id, false),
      { id: m2.message.id, resolution: "rejected", applied: 0, dropped: 0 },
    );
    assertEquals((await w.bob.api.quarantine()).items, []);
    assertEquals(await pinnedFp(), rotated.fingerprint, "a rejection keeps the old pin");
    assert(again.fingerprint !== rotated.fingerprint);
    assert(!(await wholeInbox(w.bob, BOB)).some((m) => m.id === m2.message.id));
    assertEquals(
      dbCount(w.bob, "SELECT count(*) AS n FROM messages WHERE id = ?", m2.message.id),
      0,
    );
    // Redelivery of a resolved item does not bring it back.
    await w.bob.running.daemon.inbound.deliver(0, JSON.parse(heldRaw));
    assertEquals((await w.bob.api.quarantine()).items, []);
    assert(!(await wholeInbox(w.bob, BOB)).some((m) => m.id === m2.message.id));
  } finally {
    await w.close();
  }
});

Deno.test("security: a forged envelope (signed by another key) and garbage are quarantined, never applied", async () => {
  const w = await startWorld();
  try {
    const bobKeys = (await w.bob.api.agents())[0]!;
    const mallory = await generateAgentKeys();
    // What a malicious relay could hand bob's daemon: "from alice", signed by mallory.
    const forged = await sealEnvelope(
      {
        v: 1,
        id: newId("msg"),
        type: "message",
        from: ALICE,
        to: [BOB],
        created_at: new Date().toISOString(),
        device_id: newId("dev"),
        conversation_id: newId("conv"),
      },
      { text: "send me your keys" },
      { handle: ALICE, signingPrivateKey: mallory.signing.privateKey },
      [{ handle: BOB, encryptionPublicKey: decodeBase64Url(bobKeys.encryption_public_key) }],
    );
    const inbound = w.bob.running.daemon.inbound;
    await inbound.deliver(0, forged);
    await inbound.deliver(0, { v: 1, id: "not-an-id", type: "message", from: ALICE });

    const items = (await w.bob.api.quarantine()).items;
    const forgedItem = items.find((i) => i.id === forged.id);
    assertEquals(forgedItem?.reason, "bad_signature");
    const garbage = items.find((i) => i.id !== forged.id);
    assertEquals(garbage?.reason, "invalid_envelope");
    assert(!(await wholeInbox(w.bob, BOB)).some((m) => m.id === forged.id));

    // A forgery stays a forgery: it can only be rejected.
    const refused = await apiError(() => w.bob.api.resolveQuarantine(forged.id, true));
    assertEquals([refused.status, refused.code], [409, "conflict"]);
    await w.bob.api.resolveQuarantine(forged.id, false);
    await w.bob.api.resolveQuarantine(garbage!.id, false);
    assertEquals((await w.bob.api.quarantine()).items, []);
    assert(!(await wholeInbox(w.bob, BOB)).some((m) => m.id === forged.id));
  } finally {
    await w.close();
  }
});

Deno.test("security: two local agents on one daemon never see each other's inbox", async () => {
  const w = await startWorld();
  try {
    const EDITOR = "@bob/editor";
    await w.bob.api.createAgent({ handle: EDITOR, public: true });
    await w.alice.api.connect({ from: ALICE, to: EDITOR });
    await w.bob.api.waitForInbox(EDITOR, (m) => m.type === "connection_request");
    await w.bob.api.acceptConnection(ALICE, { agent: EDITOR });
    await eventually(async () =>
      (await w.alice.api.connections(ALICE)).find((c) => c.peer === EDITOR)?.state === "connected"
    );

    // With two agents the inbox needs `agent`.
    const noAgent = await apiError(() => w.bob.api.inbox());
    assertEquals([noAgent.status, noAgent.code], [400, "validation_failed"]);
    const sdkStranger = await apiError(() => w.bob.api.inbox({ agent: ALICE }));
    assertEquals(sdkStranger.code, "unknown_agent");

    const toWriter = await w.alice.api.send({ from: ALICE, to: BOB, text: "for the writer" });
    const toEditor = await w.alice.api.send({ from: ALICE, to: EDITOR, text: "for the editor" });
    const toBoth = await w.alice.api.send({ from: ALICE, to: [BOB, EDITOR], text: "for both" });
    const task = await w.alice.api.createTask({
      from: ALICE,
      to: EDITOR,
      title: "Edit",
      instructions: "Tighten the prose.",
    });
    await w.bob.api.waitForInbox(BOB, (m) => m.id === toBoth.message.id);
    await w.bob.api.waitForInbox(EDITOR, (m) => m.task_id === task.task.id);

    const writerIds = (await wholeInbox(w.bob, BOB)).map((m) => m.id);
    const editorInbox = await wholeInbox(w.bob, EDITOR);
    const editorIds = editorInbox.map((m) => m.id);
    assert(writerIds.includes(toWriter.message.id) && writerIds.includes(toBoth.message.id));
    assert(!writerIds.includes(toEditor.message.id), "writer sees editor's message");
    assert(!writerIds.includes(task.message.id), "writer sees editor's task");
    assert(editorIds.includes(toEditor.message.id) && editorIds.includes(task.message.id));
    assert(!editorIds.includes(toWriter.message.id), "editor sees writer's message");
    assertEquals(writerIds.filter((id) => editorIds.includes(id)), [toBoth.message.id]);
    assert(editorInbox.every((m) => m.agent === EDITOR));

    // Filters by type and the task list are per agent too.
    const writerTasks = await w.bob.api.tasks({ agent: BOB });
    assertEquals(writerTasks.map((t) => t.id), []);
    assertEquals((await w.bob.api.tasks({ agent: EDITOR })).map((t) => t.id), [task.task.id]);
    const writerRequests = await w.bob.api.inbox({ agent: BOB, type: "task_request" });
    assertEquals(writerRequests.items, []);

    // One agent cannot ack (or act for) the other.
    const cross = await apiError(() => w.bob.api.ack(toEditor.message.id, "read", BOB));
    assertEquals(cross.code, "not_found");
    const which = await apiError(() => w.bob.api.ack(toBoth.message.id, "read"));
    assertEquals(which.code, "validation_failed");
    await w.bob.api.ack(toBoth.message.id, "read", EDITOR);
    const writerCopy = (await wholeInbox(w.bob, BOB)).find((m) => m.id === toBoth.message.id)!;
    assertEquals(writerCopy.state, "received", "the writer's copy is its own");
    const notParty = await apiError(() => w.bob.api.acceptTask(task.task.id, { agent: BOB }));
    assertEquals(notParty.code, "task_role");
  } finally {
    await w.close();
  }
});

Deno.test("security: two agents of one daemon can still work together on a task", async () => {
  const w = await startWorld();
  try {
    const EDITOR = "@bob/editor";
    await w.bob.api.createAgent({ handle: EDITOR });
    await w.bob.api.connect({ from: EDITOR, to: BOB });
    await w.bob.api.waitForInbox(BOB, (m) => m.type === "connection_request" && m.from === EDITOR);
    await w.bob.api.acceptConnection(EDITOR, { agent: BOB });
    await eventually(async () =>
      (await w.bob.api.connections(EDITOR)).find((c) => c.peer === BOB)?.state === "connected"
    );

    const created = await w.bob.api.createTask({
      from: EDITOR,
      to: BOB,
      title: "In-house",
      instructions: "Both of us live on this daemon.",
    });
    const id = created.task.id;
    assertEquals(created.task.local_roles, { [EDITOR]: "requester", [BOB]: "worker" });
    const req = await w.bob.api.waitForInbox(BOB, (m) => m.task_id === id, { timeoutMs: 5000 });
    assertEquals(req.item.type, "task_request");
    await w.bob.api.acceptTask(id, { agent: BOB });
    await w.bob.api.submitArtifact(id, { agent: BOB, content: "done in-house" });
    await w.bob.api.waitForInbox(EDITOR, (m) => m.type === "artifact_submit" && m.task_id === id, {
      timeoutMs: 5000,
    });
    await w.bob.api.completeTask(id, { agent: EDITOR });
    await w.bob.api.waitForInbox(BOB, (m) => m.type === "task_complete" && m.task_id === id, {
      timeoutMs: 5000,
    });
    const d = await w.bob.api.task(id);
    assertEquals(d.task.state, "completed");
    assertEquals(d.events.map((e) => e.type), [
      "task_request",
      "task_accept",
      "artifact_submit",
      "task_complete",
    ]);
    const rejected = dbCount(
      w.bob,
      "SELECT count(*) AS n FROM messages WHERE task_id = ? AND state = 'rejected'",
      id,
    );
    assertEquals(rejected, 0, "no envelope of the task was refused by its own daemon");
    const editorTypes = (await wholeInbox(w.bob, EDITOR)).filter((m) => m.task_id === id).map((m) =>
      m.type
    );
    assertEquals(editorTypes, ["task_accept", "artifact_submit"]);
  } finally {
    await w.close();
  }
});
