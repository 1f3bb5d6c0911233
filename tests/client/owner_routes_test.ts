/**
 * The owner's controls over the loopback API: block (and unblock) a peer, rotate an agent's
 * keys (peers re-pin through their key-change quarantine), list and revoke invites.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { decodeBase64Url, newId, sealEnvelope } from "../../lib/protocol/mod.ts";
import { ApiError, TaskferryClient } from "../../lib/sdk/mod.ts";
import { eventually, startWorld, type World } from "./world.ts";
import { ALICE, BOB, dbCount } from "./helpers.ts";

/** A message from alice to bob, sealed and signed by alice's current keys (as her daemon would). */
async function fromAlice(w: World, type: "message" | "connection_request") {
  const keys = await w.alice.running.daemon.keyring.keysOf(ALICE);
  const bob = (await w.bob.api.agents())[0]!;
  return await sealEnvelope(
    {
      v: 1,
      id: newId("msg"),
      type,
      from: ALICE,
      to: [BOB],
      created_at: new Date().toISOString(),
      device_id: newId("dev"),
      ...(type === "message" ? { conversation_id: newId("conv") } : {}),
    },
    type === "message" ? { text: "let me in" } : { note: "again?" },
    { handle: ALICE, signingPrivateKey: keys.signing.privateKey },
    [{ handle: BOB, encryptionPublicKey: decodeBase64Url(bob.encryption_public_key) }],
  );
}

Deno.test("owner: blocking a peer disconnects it; the relay refuses it and the daemon drops what still comes", async () => {
  const w = await startWorld();
  try {
    const blocked = await w.bob.api.blockPeer(ALICE);
    assertEquals(blocked.map((c) => [c.agent, c.peer, c.state]), [[BOB, ALICE, "blocked"]]);

    // The relay was told: alice's next message is refused there.
    const sent = await w.alice.api.send({ from: ALICE, to: BOB, text: "hello?" });
    const refused = await eventually(async () => {
      const m = await w.alice.api.message(sent.message.id);
      return m.state === "failed" ? m : null;
    });
    assert(refused.state_reason?.includes("permission_denied"), String(refused.state_reason));

    // What a relay that ignored the block would hand over is dropped unstored.
    // (Receipts are left out: bob's batched `delivered` receipts go out on their own.)
    const stored = "SELECT count(*) AS n FROM messages WHERE type != 'receipt'";
    const messages = dbCount(w.bob, stored);
    for (const type of ["message", "connection_request"] as const) {
      await w.bob.running.daemon.inbound.deliver(0, await fromAlice(w, type));
    }
    assertEquals(dbCount(w.bob, stored), messages);
    assertEquals(dbCount(w.bob, "SELECT count(*) AS n FROM quarantine"), 0);
    assertEquals((await w.bob.api.connections(BOB))[0]!.state, "blocked");

    // Bob cannot write to a blocked peer, nor ask it again before unblocking.
    const noSend = await assertRejects(
      () => w.bob.api.send({ from: BOB, to: ALICE, text: "x" }),
      ApiError,
    );
    assertEquals(noSend.code, "not_connected");
    const noAsk = await assertRejects(() => w.bob.api.connect({ from: BOB, to: ALICE }), ApiError);
    assertEquals(noAsk.code, "conflict");
    const noEdit = await assertRejects(
      () => w.bob.api.setPermissions(ALICE, BOB, { can_message: true }),
      ApiError,
    );
    assertEquals(noEdit.code, "conflict");

    // Unblocking forgets the row: alice may ask again and bob sees the request.
    assertEquals(await w.bob.api.unblockPeer(ALICE), { unblocked: [BOB] });
    assertEquals(await w.bob.api.connections(BOB), []);
    const again = await fromAlice(w, "connection_request");
    await w.bob.running.daemon.inbound.deliver(0, again);
    assertEquals((await w.bob.api.connections(BOB))[0]!.state, "pending_in");
    const notBlocked = await assertRejects(() => w.bob.api.unblockPeer(ALICE), ApiError);
    assertEquals(notBlocked.code, "not_found");
  } finally {
    await w.close();
  }
});

Deno.test("owner: rotate-key over the API; the peer quarantines the next message as key_changed and accepts it", async () => {
  const w = await startWorld();
  try {
    const before = (await w.alice.api.agents())[0]!;
    const rotated = await w.alice.api.rotateKey(ALICE);
    assert(rotated.fingerprint !== before.fingerprint);
    assertEquals(rotated.registered, true);
    const m = await w.alice.api.send({ from: ALICE, to: BOB, text: "rotated" });
    const held = await eventually(async () =>
      (await w.bob.api.quarantine()).items.find((i) => i.id === m.message.id)
    );
    assertEquals([held.reason, held.complete], ["key_changed", true]);
    const res = await w.bob.api.resolveQuarantine(m.message.id, true);
    assertEquals([res.applied, res.dropped], [1, 0]);
    await w.bob.api.waitForInbox(BOB, (x) => x.id === m.message.id, { timeoutMs: 5000 });
    const pin = (await w.bob.api.connections(BOB))[0]!.peer_fingerprint;
    assertEquals(pin, rotated.fingerprint);

    const unknown = await assertRejects(() => w.alice.api.rotateKey("@alice/nobody"), ApiError);
    assertEquals(unknown.code, "unknown_agent");
  } finally {
    await w.close();
  }
});

Deno.test("owner: invites are listed and revoked; a revoked invite no longer opens", async () => {
  const w = await startWorld();
  try {
    const invite = await w.bob.api.createInvite(BOB);
    const listed = await w.bob.api.invites();
    assertEquals(listed.map((i) => [i.code, i.state]), [[invite.code, "active"]]);
    const revoked = await w.bob.api.revokeInvite(invite.code);
    assertEquals(revoked.state, "revoked");
    assertEquals((await w.bob.api.invites(BOB))[0]!.state, "revoked");
    const gone = await assertRejects(() => w.alice.api.openInvite(invite.url), ApiError);
    assertEquals(gone.code, "invite_expired");
    // Revoking again is a no-op; an unknown code is not_found.
    assertEquals((await w.bob.api.revokeInvite(invite.code)).state, "revoked");
    const unknown = await assertRejects(() => w.bob.api.revokeInvite("nosuchcode"), ApiError);
    assertEquals(unknown.code, "not_found");
    // What the connection made before stays: alice and bob are still connected.
    assertEquals((await w.bob.api.connections(BOB))[0]!.state, "connected");
  } finally {
    await w.close();
  }
});

Deno.test("owner: an agent token reaches none of the owner's controls", async () => {
  const w = await startWorld();
  try {
    const issued = await w.bob.api.issueAgentToken(BOB);
    const agent = new TaskferryClient({ url: w.bob.running.url, token: issued.token });
    const calls: [string, () => Promise<unknown>][] = [
      ["block", () => agent.blockPeer(ALICE, BOB)],
      ["unblock", () => agent.unblockPeer(ALICE, BOB)],
      ["rotate-key", () => agent.rotateKey(BOB)],
      ["invites", () => agent.invites()],
      ["revoke invite", () => agent.revokeInvite("abcdefgh")],
      ["audit verify", () => agent.verifyAudit()],
      ["quarantine", () => agent.quarantine({ limit: 1 })],
    ];
    for (const [name, call] of calls) {
      const err = await assertRejects(call, ApiError);
      assertEquals([err.status, err.code], [403, "forbidden"], name);
    }
    assertEquals((await w.bob.api.connections(BOB))[0]!.state, "connected");
  } finally {
    await w.close();
  }
});
