/**
 * Tampering with the vector envelopes (tests/vectors/envelope_v1.json).
 *
 * Two layers are tested separately:
 * - the signature: any change to a signed field, left unsigned, fails with `bad_signature`;
 * - the encryption binding: the same change RE-SIGNED with the sender's key (so the signature
 *   passes) fails with `decrypt_failed`, because the header is the AES-GCM AAD and the envelope
 *   id and recipient handle are in the HPKE info. This shows the binding holds even against a
 *   party that can produce valid signatures (a sender, or a recipient forwarding a payload).
 */
import { ed25519, ED25519_TORSION_SUBGROUP } from "../deps/noble.ts";
import { assert, assertCode, assertEquals } from "../assert.ts";
import { decodeBase64Url, encodeBase64Url } from "../../lib/protocol/base64url.ts";
import {
  openEnvelope,
  parseEnvelope,
  sign,
  signingInput,
  verify,
  verifyEnvelope,
} from "../../lib/protocol/mod.ts";
import type { Envelope } from "../../lib/protocol/schemas.ts";
import { type EnvelopeVector, testKeys, VECTOR_DIR } from "../vectors/generate.ts";

const vectors = JSON.parse(
  await Deno.readTextFile(new URL("envelope_v1.json", VECTOR_DIR)),
) as EnvelopeVector[];
const vector = (name: string) => vectors.find((v) => v.name === name)!;
const ONE = vector("message-one-recipient");
const THREE = vector("message-three-recipients");
const TASK = vector("task-request");

type Recipient = EnvelopeVector["recipients"][number];
type Fields = Record<string, unknown>;

const key = decodeBase64Url;
const keysOf = (r: Recipient) => ({
  encryptionPrivateKey: key(r.encryption_private_key),
  encryptionPublicKey: key(r.encryption_public_key),
});

/** Opens `env` as the vector's recipient `i`, verifying against the vector's sender. */
function openAs(v: EnvelopeVector, env: Envelope, i = 0) {
  const r = v.recipients[i]!;
  return openEnvelope(env, r.handle, keysOf(r), key(v.sender.signing_public_key));
}

/** A deep copy of `env` changed by `change`. */
function mutate(env: Envelope, change: (e: Envelope & Fields) => void): Envelope {
  const copy = structuredClone(env) as Envelope & Fields;
  change(copy);
  return copy;
}

/** `env` signed again with `signingPrivateKey` (default: the vector's sender). */
async function resign(v: EnvelopeVector, env: Envelope, signingPrivateKey?: Uint8Array) {
  const sk = signingPrivateKey ?? key(v.sender.signing_private_key);
  return { ...env, sig: encodeBase64Url(await sign(sk, signingInput(env))) };
}

/** Flips one bit of byte `i` of a base64url field, returning canonical base64url again. */
function flip(text: string, i: number): string {
  const bytes = decodeBase64Url(text);
  bytes[i] = bytes[i]! ^ (1 << (i % 8));
  return encodeBase64Url(bytes);
}

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** `text` with the character at `i` replaced by a different one of the same kind. */
function changeChar(text: string, i: number): string {
  const c = text[i]!;
  let r: string;
  if (ALPHABET.includes(c)) r = ALPHABET[(ALPHABET.indexOf(c) + 1) % ALPHABET.length]!;
  else if (c >= "a" && c <= "z") r = c === "z" ? "a" : String.fromCharCode(c.charCodeAt(0) + 1);
  else r = c === "x" ? "y" : "x";
  return text.slice(0, i) + r + text.slice(i + 1);
}

const STRING_FIELDS = [
  "id",
  "type",
  "from",
  "created_at",
  "device_id",
  "conversation_id",
  "task_id",
  "reply_to",
] as const;
/** Header fields in the AAD (all but device_id) that hold one string. */
const AAD_STRING_FIELDS = STRING_FIELDS.filter((f) => f !== "device_id");
const OPTIONAL_FIELDS = ["conversation_id", "task_id", "reply_to"] as const;
const SPARE_VALUES: Record<(typeof OPTIONAL_FIELDS)[number], string> = {
  conversation_id: "conv_01M7ZV3EG0000000000000ZZ",
  task_id: "task_01M7ZV3EG0000000000000ZZ",
  reply_to: "msg_01M7ZV3EG0000000000000ZZ",
};

/** Every single-field change of the signed header, as [label, change]. */
function headerChanges(v: EnvelopeVector, fields: readonly string[]) {
  const env = v.envelope as Envelope & Fields;
  const out: [string, (e: Envelope & Fields) => void][] = [];
  for (const f of fields) {
    const value = env[f];
    if (typeof value !== "string") continue;
    for (let i = 0; i < value.length; i++) {
      out.push([`${f}[${i}]`, (e) => (e[f] = changeChar(value, i))]);
    }
  }
  env.to.forEach((h, j) => {
    for (let i = 0; i < h.length; i++) {
      out.push([`to[${j}][${i}]`, (e) => (e.to[j] = changeChar(h, i))]);
    }
  });
  out.push(["v", (e) => (e.v = 2 as 1)]);
  for (const f of OPTIONAL_FIELDS) {
    if (fields.includes(f)) {
      if (env[f] === undefined) out.push([`add ${f}`, (e) => (e[f] = SPARE_VALUES[f])]);
      else out.push([`remove ${f}`, (e) => delete e[f]]);
    }
  }
  return out;
}

async function expectCode(label: string, fn: () => Promise<unknown>, code: string) {
  try {
    await assertCode(fn, code);
  } catch (err) {
    throw new Error(`${label}: ${(err as Error).message}`);
  }
}

Deno.test("baseline: re-signing an untouched envelope still opens for every recipient", async () => {
  for (const v of vectors) {
    const env = await resign(v, v.envelope);
    assertEquals(env.sig, v.envelope.sig); // Ed25519 is deterministic
    for (let i = 0; i < v.recipients.length; i++) {
      assertEquals(await openAs(v, env, i), v.plaintext);
    }
  }
});

Deno.test("unsigned: changing any character of any header field fails with bad_signature", async () => {
  for (const v of vectors) {
    for (const [label, change] of headerChanges(v, STRING_FIELDS)) {
      await expectCode(
        `${v.name} ${label}`,
        () => openAs(v, mutate(v.envelope, change)),
        "bad_signature",
      );
    }
  }
});

Deno.test("unsigned: flipping any byte of nonce, ciphertext, enc, wrapped or sig fails with bad_signature", async () => {
  for (const v of vectors) {
    const p = v.envelope.payload;
    const changes: [string, (e: Envelope) => void][] = [];
    for (let i = 0; i < decodeBase64Url(p.nonce).length; i++) {
      changes.push([`nonce[${i}]`, (e) => (e.payload.nonce = flip(p.nonce, i))]);
    }
    for (let i = 0; i < decodeBase64Url(p.ciphertext).length; i++) {
      changes.push([`ciphertext[${i}]`, (e) => (e.payload.ciphertext = flip(p.ciphertext, i))]);
    }
    p.keys.forEach((k, j) => {
      for (let i = 0; i < 32; i++) {
        changes.push([`keys[${j}].enc[${i}]`, (e) => (e.payload.keys[j]!.enc = flip(k.enc, i))]);
      }
      for (let i = 0; i < 48; i++) {
        changes.push([
          `keys[${j}].wrapped[${i}]`,
          (e) => (e.payload.keys[j]!.wrapped = flip(k.wrapped, i)),
        ]);
      }
      changes.push([`keys[${j}].to`, (e) => (e.payload.keys[j]!.to = "@mallory/eve")]);
    });
    for (let i = 0; i < 64; i++) {
      changes.push([`sig[${i}]`, (e) => (e.sig = flip(v.envelope.sig, i))]);
    }
    changes.push(["sig not base64url", (e) => (e.sig = "!" + e.sig.slice(1))]);
    changes.push(["sig truncated", (e) => (e.sig = e.sig.slice(0, 84))]);
    changes.push(["alg", (e) => ((e.payload as Fields).alg = "HPKE-X25519-SHA256-CHACHA20")]);
    changes.push(["content_type", (e) => ((e.payload as Fields).content_type = "text/plain")]);
    changes.push(["extra field", (e) => ((e as Fields).note = "hi")]);
    for (const [label, change] of changes) {
      await expectCode(
        `${v.name} ${label}`,
        () => openAs(v, mutate(v.envelope, change)),
        "bad_signature",
      );
    }
  }
});

Deno.test("re-signed: every AAD header field is bound to the ciphertext (decrypt_failed)", async () => {
  for (const v of vectors) {
    // Each character of each AAD-bound string field, v, and adding/removing optional fields.
    for (const [label, change] of headerChanges(v, AAD_STRING_FIELDS)) {
      if (label.startsWith("to[")) continue; // recipients are covered below
      const env = await resign(v, mutate(v.envelope, change));
      await verifyEnvelope(env, key(v.sender.signing_public_key)); // the signature passes
      await expectCode(`${v.name} ${label}`, () => openAs(v, env), "decrypt_failed");
    }
    // content_type is in the AAD too.
    const ct = await resign(
      v,
      mutate(v.envelope, (e) => ((e.payload as Fields).content_type = "text/plain")),
    );
    await expectCode(`${v.name} content_type`, () => openAs(v, ct), "decrypt_failed");
    // The recipient list: one more recipient (with a copied key entry) for everyone who opens.
    const added = await resign(
      v,
      mutate(v.envelope, (e) => {
        e.to.push("@zed/extra");
        e.payload.keys.push({ ...e.payload.keys[0]!, to: "@zed/extra" });
      }),
    );
    for (let i = 0; i < v.recipients.length; i++) {
      await expectCode(
        `${v.name} added recipient, #${i}`,
        () => openAs(v, added, i),
        "decrypt_failed",
      );
    }
  }
  // Three recipients: reorder, drop, rename another recipient.
  const others: [string, (e: Envelope) => void][] = [
    ["reversed", (e) => (e.to.reverse(), e.payload.keys.reverse())],
    ["dropped #2", (e) => (e.to.pop(), e.payload.keys.pop())],
    ["renamed #2", (e) => (e.to[2] = "@dave/other", e.payload.keys[2]!.to = "@dave/other")],
  ];
  for (const [label, change] of others) {
    const env = await resign(THREE, mutate(THREE.envelope, change));
    await expectCode(`three ${label}`, () => openAs(THREE, env, 0), "decrypt_failed");
    await expectCode(`three ${label}`, () => openAs(THREE, env, 1), "decrypt_failed");
  }
});

Deno.test("re-signed: device_id is bound by the signature only; alg is checked by the schema", async () => {
  for (const v of vectors) {
    const moved = await resign(
      v,
      mutate(
        v.envelope,
        (e) => (e.device_id = SPARE_VALUES.conversation_id.replace("conv", "dev")),
      ),
    );
    assertEquals(await openAs(v, moved), v.plaintext);
    const alg = await resign(v, mutate(v.envelope, (e) => ((e.payload as Fields).alg = "other")));
    await assertCode(() => parseEnvelope(alg), "invalid_envelope");
  }
});

Deno.test("re-signed: flipping any byte of the nonce or ciphertext fails with decrypt_failed", async () => {
  for (const v of vectors) {
    const p = v.envelope.payload;
    for (let i = 0; i < decodeBase64Url(p.nonce).length; i++) {
      const env = await resign(v, mutate(v.envelope, (e) => (e.payload.nonce = flip(p.nonce, i))));
      await expectCode(`${v.name} nonce[${i}]`, () => openAs(v, env), "decrypt_failed");
    }
    for (let i = 0; i < decodeBase64Url(p.ciphertext).length; i++) {
      const env = await resign(
        v,
        mutate(v.envelope, (e) => (e.payload.ciphertext = flip(p.ciphertext, i))),
      );
      await expectCode(`${v.name} ciphertext[${i}]`, () => openAs(v, env), "decrypt_failed");
    }
    for (
      const [label, change] of [
        [
          "ciphertext truncated",
          (e: Envelope) => (e.payload.ciphertext = e.payload.ciphertext.slice(0, 20)),
        ],
        [
          "ciphertext not base64url",
          (e: Envelope) => (e.payload.ciphertext = "*" + e.payload.ciphertext),
        ],
        ["nonce short", (e: Envelope) => (e.payload.nonce = e.payload.nonce.slice(0, 15))],
      ] as const
    ) {
      const env = await resign(v, mutate(v.envelope, change));
      await expectCode(`${v.name} ${label}`, () => openAs(v, env), "decrypt_failed");
    }
  }
});

Deno.test("re-signed: flipping any byte of a recipient's enc or wrapped fails for that recipient only", async () => {
  const p = THREE.envelope.payload;
  for (let j = 0; j < p.keys.length; j++) {
    const entry = p.keys[j]!;
    for (const [field, size] of [["enc", 32], ["wrapped", 48]] as const) {
      for (let i = 0; i < size; i++) {
        const env = await resign(
          THREE,
          mutate(THREE.envelope, (e) => (e.payload.keys[j]![field] = flip(entry[field], i))),
        );
        await expectCode(
          `keys[${j}].${field}[${i}]`,
          () => openAs(THREE, env, j),
          "decrypt_failed",
        );
        if (i === 0) {
          // The other recipients' copies are unaffected.
          for (let other = 0; other < p.keys.length; other++) {
            if (other !== j) assertEquals(await openAs(THREE, env, other), THREE.plaintext);
          }
        }
      }
    }
  }
});

Deno.test("a payload moved into another envelope does not decrypt", async () => {
  // ONE and TASK are both @alice/requester → @bob/writer.
  const moved = mutate(TASK.envelope, (e) => (e.payload = structuredClone(ONE.envelope.payload)));
  await assertCode(() => openAs(TASK, moved), "bad_signature");
  await assertCode(async () => openAs(TASK, await resign(TASK, moved)), "decrypt_failed");
  // Only the header of another envelope, keeping the id (so the HPKE info still matches).
  const sameId = mutate(TASK.envelope, (e) => {
    e.id = ONE.envelope.id;
    e.payload = structuredClone(ONE.envelope.payload);
  });
  await assertCode(async () => openAs(TASK, await resign(TASK, sameId)), "decrypt_failed");

  // A recipient (@bob/writer) forwards Alice's payload to @carol/reviewer under its own valid
  // signature, same id: Carol's content key still unwraps, but the AAD (from, to) differs.
  const bob = await testKeys("@bob/writer");
  const carol = THREE.recipients[1]!;
  const forwarded = await resign(
    THREE,
    mutate(THREE.envelope, (e) => {
      e.from = "@bob/writer";
      e.to = [carol.handle];
      e.payload.keys = [e.payload.keys[1]!];
    }),
    bob.signing.privateKey,
  );
  await assertCode(
    () => openEnvelope(forwarded, carol.handle, keysOf(carol), bob.signing.publicKey),
    "decrypt_failed",
  );
});

Deno.test("a non-recipient cannot open, and a forged key entry does not help", async () => {
  const mallory = await testKeys("@mallory/eve");
  const malloryKeys = {
    encryptionPrivateKey: mallory.encryption.privateKey,
    encryptionPublicKey: mallory.encryption.publicKey,
  };
  const alicePublic = key(ONE.sender.signing_public_key);
  await assertCode(
    () => openEnvelope(ONE.envelope, "@mallory/eve", malloryKeys, alicePublic),
    "not_a_recipient",
  );
  // Mallory uses Bob's handle with her own keys.
  await assertCode(
    () => openEnvelope(ONE.envelope, "@bob/writer", malloryKeys, alicePublic),
    "decrypt_failed",
  );
  // Mallory lists herself with a copy of Bob's entry.
  const listed = mutate(ONE.envelope, (e) => {
    e.to.push("@mallory/eve");
    e.payload.keys.push({ ...e.payload.keys[0]!, to: "@mallory/eve" });
  });
  await assertCode(
    () => openEnvelope(listed, "@mallory/eve", malloryKeys, alicePublic),
    "bad_signature",
  );
  // Even with a valid signature over that list (as if the signature were bypassed), the copied
  // entry was encapsulated to Bob's key for Bob's handle: Mallory cannot unwrap it.
  const signed = await resign(ONE, listed);
  await assertCode(
    () => openEnvelope(signed, "@mallory/eve", malloryKeys, alicePublic),
    "decrypt_failed",
  );
  // Replacing Bob by Mallory outright fails the same way.
  const replaced = await resign(
    ONE,
    mutate(ONE.envelope, (e) => {
      e.to = ["@mallory/eve"];
      e.payload.keys[0]!.to = "@mallory/eve";
    }),
  );
  await assertCode(
    () => openEnvelope(replaced, "@mallory/eve", malloryKeys, alicePublic),
    "decrypt_failed",
  );
  // A key entry without a place in `to` is ignored.
  const entryOnly = await resign(
    ONE,
    mutate(ONE.envelope, (e) => e.payload.keys.push({ ...e.payload.keys[0]!, to: "@mallory/eve" })),
  );
  await assertCode(
    () => openEnvelope(entryOnly, "@mallory/eve", malloryKeys, alicePublic),
    "not_a_recipient",
  );
  // Another sender key than the sender's fails.
  await assertCode(
    () =>
      openEnvelope(
        ONE.envelope,
        "@bob/writer",
        keysOf(ONE.recipients[0]!),
        mallory.signing.publicKey,
      ),
    "bad_signature",
  );
});

Deno.test("three recipients: each opens its own copy; another's entry or key fails", async () => {
  const senderPublic = key(THREE.sender.signing_public_key);
  for (let i = 0; i < 3; i++) assertEquals(await openAs(THREE, THREE.envelope, i), THREE.plaintext);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      if (i === j) continue;
      const me = THREE.recipients[i]!;
      const other = THREE.recipients[j]!;
      // My keys, the other's entry.
      await assertCode(
        () => openEnvelope(THREE.envelope, other.handle, keysOf(me), senderPublic),
        "decrypt_failed",
      );
      // My entry, the other's keys.
      await assertCode(
        () => openEnvelope(THREE.envelope, me.handle, keysOf(other), senderPublic),
        "decrypt_failed",
      );
    }
  }
  // Swapping two entries' key material (re-signed) breaks exactly those two.
  const swapped = await resign(
    THREE,
    mutate(THREE.envelope, (e) => {
      const [a, b] = [e.payload.keys[0]!, e.payload.keys[1]!];
      [a.enc, b.enc] = [b.enc, a.enc];
      [a.wrapped, b.wrapped] = [b.wrapped, a.wrapped];
    }),
  );
  await assertCode(() => openAs(THREE, swapped, 0), "decrypt_failed");
  await assertCode(() => openAs(THREE, swapped, 1), "decrypt_failed");
  assertEquals(await openAs(THREE, swapped, 2), THREE.plaintext);
});

Deno.test("a small-order signing key never verifies, though forged signatures exist for it", async () => {
  const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
  // The 8-torsion points, plus the non-canonical encodings y = p (of 0) and y = p + 1 (of 1).
  const keys = [
    ...ED25519_TORSION_SUBGROUP,
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  const message = signingInput(ONE.envelope);
  let forgeries = 0;
  for (const a of keys) {
    for (const r of ED25519_TORSION_SUBGROUP) {
      // R of small order and S = 0: for A = R = identity this satisfies [S]B = R + [k]A for any
      // message, and plain WebCrypto accepts it and several other such pairs.
      const sig = new Uint8Array(64);
      sig.set(hex(r));
      try {
        if (ed25519.verify(sig, message, hex(a))) forgeries++; // noble (ZIP-215 rules) accepts
      } catch {
        // not a point noble decodes
      }
      assert(!(await verify(hex(a), message, sig)), `small-order key ${a} verified`);
      await assertCode(
        () => verifyEnvelope({ ...ONE.envelope, sig: encodeBase64Url(sig) }, hex(a)),
        "bad_signature",
      );
    }
  }
  assert(forgeries > 0, "the forgery exists, so the refusal above is not vacuous");
});
