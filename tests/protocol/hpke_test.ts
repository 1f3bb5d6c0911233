/**
 * The native HPKE (lib/protocol/hpke.ts) against @hpke/core, the reference implementation the
 * protocol used first: identical bytes for a derived ephemeral key, and each opens the other's
 * output. The envelope vectors (vectors_test.ts, noble_test.ts) check it once more end to end.
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { hpkeOpen, hpkeSeal } from "../../lib/protocol/hpke.ts";
import { randomBytes, TaskferryError, x25519PublicKey } from "../../lib/protocol/mod.ts";
import { referenceHpke } from "./hpke_reference.ts";

const suite = referenceHpke;
const ab = (b: Uint8Array) => b.slice().buffer as ArrayBuffer;

Deno.test("native HPKE seal is byte-identical to @hpke/core for a derived ephemeral key", async () => {
  for (let i = 0; i < 8; i++) {
    const sk = randomBytes(32);
    const pk = await x25519PublicKey(sk);
    const ikm = randomBytes(32);
    const info = new TextEncoder().encode(`taskferry/1 content-key\nmsg_${i}\n@b/x`);
    const pt = randomBytes(32);
    const ours = await hpkeSeal(pk, info, pt, ikm);
    const theirs = await suite.seal({
      recipientPublicKey: await suite.kem.deserializePublicKey(ab(pk)),
      info: ab(info),
      ekm: await suite.kem.deriveKeyPair(ab(ikm)),
    }, ab(pt));
    assertEquals(ours.enc, new Uint8Array(theirs.enc));
    assertEquals(ours.ct, new Uint8Array(theirs.ct));
  }
});

Deno.test("native HPKE and @hpke/core open each other's output", async () => {
  const sk = randomBytes(32);
  const pk = await x25519PublicKey(sk);
  const info = new TextEncoder().encode("info");
  const pt = randomBytes(32);
  const ours = await hpkeSeal(pk, info, pt);
  const opened = await suite.open({
    recipientKey: {
      privateKey: await suite.kem.importKey("raw", ab(sk), false),
      publicKey: await suite.kem.deserializePublicKey(ab(pk)),
    },
    enc: ab(ours.enc),
    info: ab(info),
  }, ab(ours.ct));
  assertEquals(new Uint8Array(opened), pt);
  const theirs = await suite.seal({
    recipientPublicKey: await suite.kem.deserializePublicKey(ab(pk)),
    info: ab(info),
  }, ab(pt));
  assertEquals(
    await hpkeOpen(sk, pk, new Uint8Array(theirs.enc), info, new Uint8Array(theirs.ct)),
    pt,
  );
});

Deno.test("native HPKE open refuses a wrong info, a flipped byte and a small-order enc", async () => {
  const sk = randomBytes(32);
  const pk = await x25519PublicKey(sk);
  const info = new TextEncoder().encode("info");
  const sealed = await hpkeSeal(pk, info, randomBytes(32));
  await assertRejects(() =>
    hpkeOpen(sk, pk, sealed.enc, new TextEncoder().encode("other"), sealed.ct)
  );
  const flipped = sealed.ct.slice();
  flipped[0]! ^= 1;
  await assertRejects(() => hpkeOpen(sk, pk, sealed.enc, info, flipped));
  await assertRejects(() => hpkeOpen(sk, pk, new Uint8Array(32), info, sealed.ct));
});

Deno.test("native HPKE refuses small-order keys as decrypt_failed, and a ciphertext cut short", async () => {
  const sk = randomBytes(32);
  const pk = await x25519PublicKey(sk);
  const info = new TextEncoder().encode("info");
  // u = 0 and u = 1 are points of small order: X25519 with them is all zeros (RFC 7748 §6.1).
  for (const small of [new Uint8Array(32), Uint8Array.from({ length: 32 }, (_, i) => i ? 0 : 1)]) {
    const sealing = await assertRejects(
      () => hpkeSeal(small, info, randomBytes(32)),
      TaskferryError,
    );
    assertEquals(sealing.code, "decrypt_failed");
    const sealed = await hpkeSeal(pk, info, randomBytes(32));
    const opening = await assertRejects(
      () => hpkeOpen(sk, pk, small, info, sealed.ct),
      TaskferryError,
    );
    assertEquals(opening.code, "decrypt_failed");
  }
  const sealed = await hpkeSeal(pk, info, randomBytes(32));
  await assertRejects(() => hpkeOpen(sk, pk, sealed.enc, info, sealed.ct.subarray(0, 15)));
  assertEquals((await hpkeOpen(sk, pk, sealed.enc, info, sealed.ct)).length, 32);
});
