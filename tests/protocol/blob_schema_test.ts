/**
 * Files in envelopes (docs/protocol.md §15.3-15.4): the `files` descriptor schema refuses unsafe
 * names and out-of-range values; the header's `blobs` is allowed only on the file types, signed,
 * bound into the AAD, and must list exactly the payload's blob ids — checked when sealing
 * (`validation_failed`) and when opening (`invalid_payload`), even for a validly signed envelope.
 */
import { assert, assertCode, assertEquals } from "../assert.ts";
import {
  aadObject,
  canonicalBytes,
  checkFileName,
  decodeBase64Url,
  encodeBase64Url,
  type Envelope,
  FileRefSchema,
  HeaderSchema,
  hpkeInfo,
  MAX_BLOB_SIZE,
  newId,
  openEnvelope,
  PAYLOAD_ALG,
  randomBytes,
  sealEnvelope,
  sign,
  signingInput,
} from "../../lib/protocol/mod.ts";
import { hpkeSeal } from "../../lib/protocol/hpke.ts";
import { arrayBufferOf } from "../../lib/protocol/bytes.ts";
import { type EnvelopeVector, headerOf, testKeys, VECTOR_DIR } from "../vectors/generate.ts";
import type { BlobVector } from "../vectors/blob_vectors.ts";

const envelopes = JSON.parse(
  await Deno.readTextFile(new URL("envelope_v1.json", VECTOR_DIR)),
) as EnvelopeVector[];
const blobs = JSON.parse(
  await Deno.readTextFile(new URL("blob_v1.json", VECTOR_DIR)),
) as BlobVector[];
const FILES = envelopes.find((v) => v.name === "message-with-files")!;
const GOOD = blobs[0]!.file;

const ALICE = "@alice/requester";
const BOB = "@bob/writer";
const alice = await testKeys(ALICE);
const bob = await testKeys(BOB);
const sender = { handle: ALICE, signingPrivateKey: alice.signing.privateKey };
const toBob = [{ handle: BOB, encryptionPublicKey: bob.encryption.publicKey }];
const bobKeys = {
  encryptionPrivateKey: bob.encryption.privateKey,
  encryptionPublicKey: bob.encryption.publicKey,
};
const header = (extra: Record<string, unknown> = {}) => ({
  v: 1 as const,
  id: newId("msg"),
  type: "message" as const,
  from: ALICE,
  to: [BOB],
  created_at: new Date().toISOString(),
  device_id: newId("dev"),
  ...extra,
});

Deno.test("files: a vector descriptor is valid; unsafe names are refused", async () => {
  assert(FileRefSchema.safeParse(GOOD).success);
  for (const name of ["notes.txt", "grüße.md", ".env", "a b (1).tar.gz", "x".repeat(255)]) {
    assert(FileRefSchema.safeParse({ ...GOOD, name }).success, name);
    assertEquals(checkFileName(name), name);
  }
  const bad = [
    "",
    ".",
    "..",
    "a/b",
    "/etc/passwd",
    "..\\x",
    "a\\b",
    "a..b",
    "x\u0000y",
    "line\nbreak",
    "tab\t",
    "del\u007f",
    "c1\u0085",
    "\ud800",
    "x".repeat(256),
  ];
  for (const name of bad) {
    assert(!FileRefSchema.safeParse({ ...GOOD, name }).success, JSON.stringify(name));
    await assertCode(() => checkFileName(name), "invalid_file_name");
  }
});

Deno.test("files: size, media type, hash, key and unknown members are checked", () => {
  const refused = [
    { size: -1 },
    { size: 1.5 },
    { size: MAX_BLOB_SIZE + 1 },
    { media_type: "text" },
    { media_type: "text/plain\n" },
    { media_type: "" },
    { sha256: GOOD.sha256.slice(1) },
    { sha256: GOOD.sha256.slice(0, -1) + "B" }, // non-canonical trailing bits
    { key: "A".repeat(44) },
    { blob_id: "msg_01M7ZVNRE000000000000000B1" },
    { extra: 1 },
  ];
  for (const change of refused) {
    assert(!FileRefSchema.safeParse({ ...GOOD, ...change }).success, JSON.stringify(change));
  }
  assert(FileRefSchema.safeParse({ ...GOOD, size: MAX_BLOB_SIZE }).success);
  assert(FileRefSchema.safeParse({ ...GOOD, size: 0 }).success);
});

Deno.test("header blobs: only on message, task_request, artifact_submit; distinct; ≤ 32", () => {
  const id = newId("blob");
  assert(HeaderSchema.safeParse(header({ blobs: [id] })).success);
  const task = { task_id: newId("task") };
  assert(HeaderSchema.safeParse(header({ type: "task_request", ...task, blobs: [id] })).success);
  assert(HeaderSchema.safeParse(header({ type: "artifact_submit", ...task, blobs: [id] })).success);
  assert(!HeaderSchema.safeParse(header({ type: "task_accept", ...task, blobs: [id] })).success);
  assert(!HeaderSchema.safeParse(header({ type: "receipt", blobs: [id] })).success);
  assert(!HeaderSchema.safeParse(header({ blobs: [] })).success);
  assert(!HeaderSchema.safeParse(header({ blobs: [id, id] })).success);
  const many = Array.from({ length: 33 }, () => newId("blob"));
  assert(!HeaderSchema.safeParse(header({ blobs: many })).success);
});

Deno.test("sealing: header blobs must list the payload's files exactly, in order", async () => {
  const second = { ...blobs[2]!.file };
  const files = [GOOD, second];
  const ids = files.map((f) => f.blob_id);
  const ok = await sealEnvelope(header({ blobs: ids }), { files }, sender, toBob);
  assertEquals(
    (await openEnvelope<"message">(ok, BOB, bobKeys, alice.signing.publicKey)).files,
    files,
  );
  for (const blobsField of [undefined, [ids[0]!], [ids[1]!, ids[0]!], [...ids, newId("blob")]]) {
    const h = blobsField ? header({ blobs: blobsField }) : header();
    await assertCode(() => sealEnvelope(h, { files }, sender, toBob), "validation_failed");
  }
  await assertCode(
    () => sealEnvelope(header({ blobs: ids }), { text: "no files" }, sender, toBob),
    "validation_failed",
  );
});

Deno.test("the files vector: blobs are signed and bound into the AAD", async () => {
  const env = FILES.envelope;
  const open = (e: Envelope) =>
    openEnvelope(e, BOB, bobKeys, decodeBase64Url(FILES.sender.signing_public_key));
  assertEquals(await open(env), FILES.plaintext);
  // Unsigned changes: the signature fails.
  const { blobs: _gone, ...noBlobs } = env;
  await assertCode(() => open(noBlobs as Envelope), "bad_signature");
  // The same changes re-signed by the sender: the AAD no longer matches.
  const resign = async (e: Omit<Envelope, "sig">) =>
    ({
      ...e,
      sig: encodeBase64Url(await sign(alice.signing.privateKey, signingInput(e as Envelope))),
    }) as Envelope;
  await assertCode(async () => open(await resign(noBlobs)), "decrypt_failed");
  const swapped = { ...env, blobs: [...env.blobs!].reverse() };
  await assertCode(async () => open(await resign(swapped)), "decrypt_failed");
  assertEquals(headerOf(env).blobs, env.blobs);
});

Deno.test("opening: a signed envelope whose blobs and files disagree is invalid_payload", async () => {
  // Sealed by hand (sealEnvelope refuses this): header lists a blob, the payload has no files.
  const h = header({ blobs: [newId("blob")] });
  const k = randomBytes(32);
  const nonce = randomBytes(12);
  const aes = await crypto.subtle.importKey("raw", arrayBufferOf(k), "AES-GCM", false, [
    "encrypt",
  ]);
  const plaintext = new TextEncoder().encode(JSON.stringify({ text: "no files here" }));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: arrayBufferOf(nonce),
        additionalData: arrayBufferOf(canonicalBytes(aadObject(h, "application/json"))),
      },
      aes,
      arrayBufferOf(plaintext),
    ),
  );
  const wrapped = await hpkeSeal(bob.encryption.publicKey, hpkeInfo(h.id, BOB), k);
  const unsigned = {
    ...h,
    payload: {
      alg: PAYLOAD_ALG,
      content_type: "application/json" as const,
      nonce: encodeBase64Url(nonce),
      ciphertext: encodeBase64Url(ciphertext),
      keys: [{ to: BOB, enc: encodeBase64Url(wrapped.enc), wrapped: encodeBase64Url(wrapped.ct) }],
    },
  };
  const env = {
    ...unsigned,
    sig: encodeBase64Url(await sign(alice.signing.privateKey, signingInput(unsigned as Envelope))),
  } as Envelope;
  await assertCode(
    () => openEnvelope(env, BOB, bobKeys, alice.signing.publicKey),
    "invalid_payload",
  );
});
