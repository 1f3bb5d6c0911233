import { assert, assertEquals } from "../assert.ts";
import { newId, openEnvelope, parseEnvelope, type RelayFrame } from "../../lib/protocol/mod.ts";
import { connectedPair, seal, SimSession, startTestRelay } from "./sim.ts";

Deno.test("relay: register, connect, send, deliver, ack, delivered receipt", async () => {
  const relay = await startTestRelay();
  try {
    const { alice, bob, a, b } = await connectedPair(relay);
    // bob receives alice's connection_request first, in order.
    const d1 = await b.next((f) => f.type === "deliver");
    assert(d1.type === "deliver");
    assertEquals((d1.envelope as { type: string }).type, "connection_request");
    b.raw({ type: "ack", seq: d1.seq });

    const env = await seal(alice, [bob], "message", { text: "hello bob" }, {
      device_id: a.deviceId,
    });
    const answer = await a.send(env);
    assertEquals(answer.type, "accepted");
    const d2 = await b.next((f) =>
      f.type === "deliver" && (f.envelope as { id: string }).id === env.id
    );
    assert(d2.type === "deliver");
    const opened = await openEnvelope(
      parseEnvelope(d2.envelope),
      bob.handle,
      {
        encryptionPrivateKey: bob.keys.encryption.privateKey,
        encryptionPublicKey: bob.keys.encryption.publicKey,
      },
      alice.keys.signing.publicKey,
    );
    assertEquals(opened, { text: "hello bob" });
    b.raw({ type: "ack", seq: d2.seq });
    const receipt = await a.next((f: RelayFrame) =>
      f.type === "receipt" && f.receipt.id === env.id
    );
    assert(receipt.type === "receipt");
    assertEquals(receipt.receipt.state, "delivered");
    assertEquals(receipt.receipt.recipients, [bob.handle]);
    a.raw({ type: "ack", seq: receipt.seq });
    a.close();
    b.close();
  } finally {
    await relay.close();
    await Deno.remove(relay.dir, { recursive: true });
  }
});

Deno.test("relay: a restart mid-stream loses nothing and keeps order", async () => {
  let relay = await startTestRelay();
  try {
    const { alice, bob, a, b, bobToken } = await connectedPair(relay);
    b.close();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const env = await seal(alice, [bob], "message", { text: `m${i}` }, { device_id: a.deviceId });
      ids.push(env.id);
      assertEquals((await a.send(env)).type, "accepted");
    }
    a.close();
    relay = await relay.restart();
    const b2 = await SimSession.connect(relay, "bob", bobToken, { deviceId: newId("dev") });
    const got: string[] = [];
    while (got.length < 51) {
      const f = await b2.next((f) => f.type === "deliver");
      assert(f.type === "deliver");
      got.push((f.envelope as { id: string }).id);
      b2.raw({ type: "ack", seq: f.seq });
    }
    assertEquals(got.slice(1), ids);
    b2.close();
  } finally {
    await relay.close();
    await Deno.remove(relay.dir, { recursive: true });
  }
});
