/**
 * The protocol v1 test vectors (tests/vectors/) against our own implementation: re-sealing with
 * the recorded inputs and randomness reproduces each envelope byte for byte, and every recipient
 * opens it to the recorded plaintext.
 */
import { assert, assertEquals } from "../assert.ts";
import { decodeBase64Url, encodeBase64Url } from "../../lib/protocol/base64url.ts";
import { canonicalJson } from "../../lib/protocol/canonical.ts";
import {
  aadObject,
  agentKeysFromPrivate,
  fingerprint,
  hpkeInfo,
  openEnvelope,
  parseEnvelope,
  registrationInput,
  rotationInput,
  sealEnvelope,
  sign,
  signingInput,
  verify,
  verifyEnvelope,
} from "../../lib/protocol/mod.ts";
import {
  buildVectors,
  type EnvelopeVector,
  headerOf,
  type IdentityVector,
  seededRandom,
  VECTOR_DIR,
} from "../vectors/generate.ts";

const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

async function load<T>(file: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(file, VECTOR_DIR))) as T;
}

const envelopes = await load<EnvelopeVector[]>("envelope_v1.json");
const identities = await load<IdentityVector[]>("identity_v1.json");

Deno.test("vector files are what generate.ts produces", async () => {
  const built = await buildVectors();
  assertEquals(envelopes, JSON.parse(JSON.stringify(built["envelope_v1.json"])));
  assertEquals(identities, JSON.parse(JSON.stringify(built["identity_v1.json"])));
});

Deno.test("the required vectors are present", () => {
  const has = (pred: (v: EnvelopeVector) => boolean) => envelopes.some(pred);
  assert(has((v) => v.envelope.type === "message" && v.envelope.to.length === 1));
  assert(has((v) => v.envelope.type === "message" && v.envelope.to.length === 3));
  assert(has((v) => v.envelope.type === "task_request" && v.envelope.to.length === 1));
  assert(
    has((v) =>
      v.envelope.type === "artifact_submit" && /[^ -~]/.test(v.plaintext_json) &&
      /[\u{10000}-\u{10ffff}]/u.test(v.plaintext_json)
    ),
  );
  assert(has((v) => v.envelope.type === "task_progress"));
  assert(has((v) => v.envelope.type === "task_fail"));
  assert(
    has((v) =>
      v.envelope.type === "receipt" && v.plaintext.state === "delivered" &&
      Array.isArray(v.plaintext.message_ids)
    ),
  );
  assert(identities.length >= 1);
});

Deno.test("the first four vectors are the protocol's original ones, unchanged", () => {
  // Adding types adds vectors; it never changes an existing one. The signatures cover every
  // byte of the original envelopes, so pinning them pins the envelopes.
  assertEquals(envelopes.slice(0, 4).map((v) => [v.name, v.envelope.sig]), [
    [
      "message-one-recipient",
      "jje74RHpMN-rOUTB7lPCsnKUeb7owx8egKWp3uhFKtP88T5bDEoH7QQLU5mHb4jJvEyRJZNu9xoB0Yj40On4Aw",
    ],
    [
      "message-three-recipients",
      "anw5rCYOzOVwljEoUy-Q9roErAwwihqIuXJxedMxazRW5_jaKZ3zghVnyAdEA9i-yTe7YQnmBabQ94Eag7fTAA",
    ],
    [
      "task-request",
      "kyC5qh3jKX-vj54OMJoOMzLRsx6gFIOKBAZW9vmOdjnFkD5gv3kLXbisSNNeo4BKjxG6DGB-3R7tQynDa9BxAw",
    ],
    [
      "artifact-submit-non-ascii",
      "TFeBpOncc9wuATY7JTGU4skZu9oWi8fsKUF2h3baMM537nBEbmAQI8WRVBlP7AazNWA8ek3P5dS9VMNmsuTBCw",
    ],
  ]);
});

for (const v of envelopes) {
  const senderPublic = decodeBase64Url(v.sender.signing_public_key);

  Deno.test(`vector ${v.name}: keys, schema and intermediate values`, async () => {
    assertEquals(parseEnvelope(structuredClone(v.envelope)), v.envelope);
    const sender = await agentKeysFromPrivate(
      decodeBase64Url(v.sender.signing_private_key),
      new Uint8Array(32),
    );
    assertEquals(encodeBase64Url(sender.signing.publicKey), v.sender.signing_public_key);
    for (const r of v.recipients) {
      const keys = await agentKeysFromPrivate(
        new Uint8Array(32),
        decodeBase64Url(r.encryption_private_key),
      );
      assertEquals(encodeBase64Url(keys.encryption.publicKey), r.encryption_public_key);
    }
    assertEquals(v.recipients.map((r) => r.handle), v.envelope.to);
    assertEquals(v.plaintext_json, JSON.stringify(v.plaintext));
    assertEquals(
      canonicalJson(aadObject(v.envelope, v.envelope.payload.content_type)),
      v.intermediate.aad,
    );
    assertEquals(text(signingInput(v.envelope)), v.intermediate.signing_input);
    v.intermediate.hpke.forEach((h, i) => {
      assertEquals(h.to, v.envelope.to[i]);
      assertEquals(h.info, text(hpkeInfo(v.envelope.id, h.to)));
      assertEquals(h.enc, v.envelope.payload.keys[i]!.enc);
    });
    assertEquals(v.intermediate.nonce, v.envelope.payload.nonce);
    const random = await seededRandom(v.random_seed);
    assertEquals(encodeBase64Url(random(32)), v.intermediate.content_key);
    assertEquals(encodeBase64Url(random(12)), v.intermediate.nonce);
    for (const h of v.intermediate.hpke) assertEquals(encodeBase64Url(random(32)), h.ikm);
    await verifyEnvelope(v.envelope, senderPublic);
  });

  Deno.test(`vector ${v.name}: re-sealing reproduces the envelope byte for byte`, async () => {
    const resealed = await sealEnvelope(
      headerOf(v.envelope),
      v.plaintext,
      {
        handle: v.sender.handle,
        signingPrivateKey: decodeBase64Url(v.sender.signing_private_key),
      },
      v.recipients.map((r) => ({
        handle: r.handle,
        encryptionPublicKey: decodeBase64Url(r.encryption_public_key),
      })),
      { random: await seededRandom(v.random_seed) },
    );
    assertEquals(JSON.stringify(resealed), JSON.stringify(v.envelope));
    assertEquals(canonicalJson(resealed), canonicalJson(v.envelope));
  });

  Deno.test(`vector ${v.name}: every recipient opens its copy`, async () => {
    for (const r of v.recipients) {
      const plain = await openEnvelope(
        v.envelope,
        r.handle,
        {
          encryptionPrivateKey: decodeBase64Url(r.encryption_private_key),
          encryptionPublicKey: decodeBase64Url(r.encryption_public_key),
        },
        senderPublic,
      );
      assertEquals(plain, v.plaintext);
    }
  });
}

for (const id of identities) {
  Deno.test(`vector ${id.name}: fingerprint, registration and rotation`, async () => {
    const keys = await agentKeysFromPrivate(
      decodeBase64Url(id.signing_private_key),
      decodeBase64Url(id.encryption_private_key),
    );
    assertEquals(encodeBase64Url(keys.signing.publicKey), id.signing_public_key);
    assertEquals(encodeBase64Url(keys.encryption.publicKey), id.encryption_public_key);
    assertEquals(
      await fingerprint({ signing: keys.signing.publicKey, encryption: keys.encryption.publicKey }),
      id.fingerprint,
    );
    const reg = registrationInput(id.handle, {
      signing_public_key: id.signing_public_key,
      encryption_public_key: id.encryption_public_key,
    }, id.client_id);
    assertEquals(text(reg), id.registration.input);
    assertEquals(
      encodeBase64Url(await sign(keys.signing.privateKey, reg)),
      id.registration.signature,
    );
    assert(await verify(keys.signing.publicKey, reg, decodeBase64Url(id.registration.signature)));

    const rotated = await agentKeysFromPrivate(
      decodeBase64Url(id.rotation.new_signing_private_key),
      decodeBase64Url(id.rotation.new_encryption_private_key),
    );
    const newPub = {
      signing_public_key: encodeBase64Url(rotated.signing.publicKey),
      encryption_public_key: encodeBase64Url(rotated.encryption.publicKey),
    };
    assertEquals(newPub.signing_public_key, id.rotation.new_signing_public_key);
    assertEquals(newPub.encryption_public_key, id.rotation.new_encryption_public_key);
    assertEquals(
      await fingerprint({
        signing: rotated.signing.publicKey,
        encryption: rotated.encryption.publicKey,
      }),
      id.rotation.new_fingerprint,
    );
    const rot = rotationInput(id.handle, newPub);
    assertEquals(text(rot), id.rotation.input);
    // The rotation is signed by the OLD key; the new key's signature must not verify.
    assert(await verify(keys.signing.publicKey, rot, decodeBase64Url(id.rotation.signature)));
    assert(!(await verify(rotated.signing.publicKey, rot, decodeBase64Url(id.rotation.signature))));
  });
}
