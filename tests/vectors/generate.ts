/**
 * Generates the protocol v1 test vectors in tests/vectors/ with fixed keys and fixed randomness.
 *
 *     deno run -A tests/vectors/generate.ts           # (re)write the vector files
 *     deno run -A tests/vectors/generate.ts --check   # exit 1 if the files differ from the code
 *
 * Keys: every private key is SHA-256(UTF-8("taskferry/1 test key <handle> <signing|encryption>")),
 * the public keys follow from them (`agentKeysFromPrivate`).
 *
 * Randomness ("sha256-ctr"): block_i = SHA-256(UTF-8(random_seed) ‖ uint32_be(i)) for
 * i = 0, 1, 2, …; `random(n)` returns the next n bytes of block_0 ‖ block_1 ‖ …. `sealEnvelope`
 * draws, in order: the 32-byte content key K, the 12-byte AES-GCM nonce, then 32 bytes of HPKE
 * ikm per recipient in `to` order (the ephemeral key is DeriveKeyPair(ikm), RFC 9180 §7.1.3).
 *
 * The generator uses only the project's own code (lib/protocol); tests/protocol/noble_test.ts
 * re-derives every value with an independent implementation. The blob vectors (blob_v1.json)
 * come from blob_vectors.ts; tests/protocol/blob_noble_test.ts re-derives them.
 */
import { decodeBase64Url, encodeBase64Url } from "../../lib/protocol/base64url.ts";
import { canonicalJson } from "../../lib/protocol/canonical.ts";
import {
  aadObject,
  agentKeysFromPrivate,
  fingerprint,
  hpkeInfo,
  type RandomBytes,
  registrationInput,
  rotationInput,
  sealEnvelope,
  sha256,
  sign,
  signingInput,
} from "../../lib/protocol/mod.ts";
import { referenceHpke } from "../protocol/hpke_reference.ts";
import { type BlobVector, buildBlobVectors } from "./blob_vectors.ts";
import { offerCases } from "./offer_cases.ts";
import type { Envelope, EnvelopeHeader, MessageType } from "../../lib/protocol/schemas.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The description of the randomness source, copied into every vector. */
export const RANDOM_SOURCE =
  "sha256-ctr: block_i = SHA-256(UTF-8(random_seed) || uint32_be(i)) for i = 0, 1, 2, ...; " +
  "random(n) returns the next n bytes of block_0 || block_1 || ...; sealEnvelope draws the " +
  "32-byte content key K, then the 12-byte AES-GCM nonce, then 32 bytes of HPKE ikm per " +
  "recipient in `to` order (ephemeral key = DeriveKeyPair(ikm), RFC 9180 section 7.1.3)";

/** The documented key derivation of the fixed test keys. */
export const KEY_SOURCE =
  'private key = SHA-256(UTF-8("taskferry/1 test key " + handle + " signing")) for Ed25519 ' +
  'and SHA-256(UTF-8("taskferry/1 test key " + handle + " encryption")) for X25519';

// ---------------------------------------------------------------------------------------------
// Deterministic inputs.

/** A deterministic {@link RandomBytes}: SHA-256 in counter mode over `seed` (see above). */
export async function seededRandom(seed: string, maxBytes = 4096): Promise<RandomBytes> {
  const seedBytes = encoder.encode(seed);
  const blocks = Math.ceil(maxBytes / 32);
  const stream = new Uint8Array(blocks * 32);
  for (let i = 0; i < blocks; i++) {
    const input = new Uint8Array(seedBytes.length + 4);
    input.set(seedBytes);
    new DataView(input.buffer).setUint32(seedBytes.length, i);
    stream.set(await sha256(input), i * 32);
  }
  let at = 0;
  return (n: number) => {
    if (at + n > stream.length) throw new RangeError("seeded random stream exhausted");
    const out = stream.slice(at, at + n);
    at += n;
    return out;
  };
}

/** The fixed private keys of a test agent. */
export async function testKeys(handle: string, suffix = "") {
  const seed = (kind: string) =>
    sha256(encoder.encode(`taskferry/1 test key ${handle}${suffix} ${kind}`));
  return agentKeysFromPrivate(await seed("signing"), await seed("encryption"));
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID whose time part is `iso` and whose 16-character random part is `random` padded. */
export function fixedUlid(iso: string, random: string): string {
  let ms = Date.parse(iso);
  let time = "";
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  return time + random.padStart(16, "0");
}

// ---------------------------------------------------------------------------------------------
// Vector shapes.

/** One envelope test vector as stored in envelope_v1.json. */
export interface EnvelopeVector {
  name: string;
  description: string;
  key_source: string;
  random_source: string;
  random_seed: string;
  sender: { handle: string; signing_public_key: string; signing_private_key: string };
  recipients: { handle: string; encryption_public_key: string; encryption_private_key: string }[];
  plaintext: Record<string, unknown>;
  /** Exactly the bytes that are encrypted: UTF-8 of `JSON.stringify(plaintext)`. */
  plaintext_json: string;
  intermediate: {
    content_key: string;
    nonce: string;
    /** The AAD as text (the AAD bytes are its UTF-8). */
    aad: string;
    hpke: { to: string; info: string; ikm: string; ephemeral_private_key: string; enc: string }[];
    /** The signed bytes as text (the signed bytes are its UTF-8). */
    signing_input: string;
  };
  envelope: Envelope;
}

/** The identity vectors stored in identity_v1.json. */
export interface IdentityVector {
  name: string;
  description: string;
  key_source: string;
  handle: string;
  client_id: string;
  signing_private_key: string;
  signing_public_key: string;
  encryption_private_key: string;
  encryption_public_key: string;
  fingerprint: string;
  registration: { input: string; signature: string };
  rotation: {
    new_signing_private_key: string;
    new_signing_public_key: string;
    new_encryption_private_key: string;
    new_encryption_public_key: string;
    new_fingerprint: string;
    input: string;
    signature: string;
  };
}

/** One envelope vector to build (offer_cases.ts adds some). */
export interface EnvelopeCase {
  name: string;
  description: string;
  type: MessageType;
  from: string;
  to: string[];
  created_at: string;
  ulid_random: string;
  conversation?: string;
  task?: string;
  reply_to?: string;
  blobs?: string[];
  plaintext: Record<string, unknown>;
}

const ALICE = "@alice/requester";
const BOB = "@bob/writer";
const CAROL = "@carol/reviewer";
const DAVE = "@dave/editor";

const T0 = "2026-11-21T20:00:00.000Z";
const CONVERSATION = `conv_${fixedUlid(T0, "C0")}`;
const TASK = `task_${fixedUlid("2026-11-21T20:05:00.000Z", "7A5C")}`;
const TASK_REQUEST_ID = `msg_${fixedUlid("2026-11-21T20:05:00.000Z", "3")}`;
const TASK_2 = `task_${fixedUlid("2026-11-21T21:00:00.000Z", "7A5D")}`;
/** One daemon installation per sender. */
const DEVICES: Record<string, string> = {
  [ALICE]: `dev_${fixedUlid("2026-11-01T09:00:00.000Z", "A1")}`,
  [BOB]: `dev_${fixedUlid("2026-11-02T10:30:00.000Z", "B0B")}`,
  [CAROL]: `dev_${fixedUlid("2026-11-03T11:00:00.000Z", "CA0")}`,
};

const CASES: EnvelopeCase[] = [
  {
    name: "message-one-recipient",
    description: "message from @alice/requester to one recipient, with conversation_id",
    type: "message",
    from: ALICE,
    to: [BOB],
    created_at: T0,
    ulid_random: "1",
    conversation: CONVERSATION,
    plaintext: { text: "Hello Bob, can you write the release notes?" },
  },
  {
    name: "message-three-recipients",
    description:
      "message from @alice/requester to three recipients (task types allow only one recipient), " +
      "with reply_to and structured data",
    type: "message",
    from: ALICE,
    to: [BOB, CAROL, DAVE],
    created_at: "2026-11-21T20:01:30.250Z",
    ulid_random: "2",
    reply_to: `msg_${fixedUlid(T0, "1")}`,
    plaintext: {
      text: "Release planning starts tomorrow.",
      data: { release: "0.1.0", owners: ["@bob/writer", "@carol/reviewer"], due: null },
    },
  },
  {
    name: "task-request",
    description: "task_request from @alice/requester (requester) to @bob/writer (worker)",
    type: "task_request",
    from: ALICE,
    to: [BOB],
    created_at: "2026-11-21T20:05:00.000Z",
    ulid_random: "3",
    conversation: CONVERSATION,
    task: TASK,
    plaintext: {
      title: "Write the release notes",
      instructions: "Summarize the changes since 0.0.9 in at most 200 words, Markdown.",
      inputs: { changelog_url: "https://example.com/changelog", max_words: 200 },
      deadline: "2026-11-22T20:00:00.000Z",
      max_revisions: 2,
    },
  },
  {
    name: "artifact-submit-non-ascii",
    description:
      "artifact_submit version 1 from the worker @bob/writer back to @alice/requester, with " +
      "non-ASCII text (multi-byte UTF-8 and a character outside the BMP)",
    type: "artifact_submit",
    from: BOB,
    to: [ALICE],
    created_at: "2026-11-21T21:15:42.007Z",
    ulid_random: "4",
    conversation: CONVERSATION,
    task: TASK,
    reply_to: TASK_REQUEST_ID,
    plaintext: {
      version: 1,
      content: "Grüße, 世界 — naïve café ✓ 🚢",
      content_type: "text/markdown; charset=utf-8",
      name: "release-notes.md",
      note: "Erste Fassung ✓",
    },
  },
  // Added with task_progress / task_fail and batched `delivered` receipts (issues 13-15). The
  // vectors above are unchanged byte for byte.
  {
    name: "task-progress",
    description:
      "task_progress from the worker @bob/writer to the requester while the task is accepted, " +
      "with a queue position (no state change)",
    type: "task_progress",
    from: BOB,
    to: [ALICE],
    created_at: "2026-11-21T20:30:00.000Z",
    ulid_random: "5",
    conversation: CONVERSATION,
    task: TASK,
    reply_to: TASK_REQUEST_ID,
    plaintext: { text: "Outline done; writing section 2 of 3 …", queue_position: 1 },
  },
  {
    name: "task-fail",
    description:
      "task_fail from the worker @bob/writer on a second task: accepted → failed (terminal), " +
      "with a machine-readable code",
    type: "task_fail",
    from: BOB,
    to: [ALICE],
    created_at: "2026-11-21T21:40:00.000Z",
    ulid_random: "6",
    task: TASK_2,
    plaintext: { reason: "The changelog URL answered 404 three times.", code: "input_unreachable" },
  },
  {
    name: "receipt-delivered-batch",
    description:
      "a peer-signed receipt from @bob/writer: three envelopes stored (state delivered), the " +
      "first in message_id, the others in message_ids",
    type: "receipt",
    from: BOB,
    to: [ALICE],
    created_at: "2026-11-21T20:05:01.500Z",
    ulid_random: "7",
    plaintext: {
      message_id: `msg_${fixedUlid(T0, "1")}`,
      message_ids: [`msg_${fixedUlid("2026-11-21T20:01:30.250Z", "2")}`, TASK_REQUEST_ID],
      state: "delivered",
    },
  },
];

/**
 * Added with files (issue 16), after every earlier vector: a message carrying two files of
 * blob_v1.json, so the header lists their ids in `blobs` (signed, and in the AAD).
 */
function filesCase(blobs: BlobVector[]): EnvelopeCase {
  const files = [blobs[0]!.file, blobs[2]!.file];
  return {
    name: "message-with-files",
    description: "message from @alice/requester to @bob/writer with two files (header blobs)",
    type: "message",
    from: ALICE,
    to: [BOB],
    created_at: "2026-11-21T20:10:00.000Z",
    ulid_random: "8",
    conversation: CONVERSATION,
    blobs: files.map((f) => f.blob_id),
    plaintext: { text: "Notes attached, and an empty placeholder.", files },
  };
}

const b64 = encodeBase64Url;
const text = (bytes: Uint8Array) => decoder.decode(bytes);

/** The header `sealEnvelope` takes for a case. */
function caseHeader(c: EnvelopeCase): EnvelopeHeader {
  const header: EnvelopeHeader = {
    v: 1,
    id: `msg_${fixedUlid(c.created_at, c.ulid_random)}`,
    type: c.type,
    from: c.from,
    to: c.to,
    created_at: c.created_at,
    device_id: DEVICES[c.from]!,
  };
  if (c.conversation !== undefined) header.conversation_id = c.conversation;
  if (c.task !== undefined) header.task_id = c.task;
  if (c.reply_to !== undefined) header.reply_to = c.reply_to;
  if (c.blobs !== undefined) header.blobs = c.blobs;
  return header;
}

/** The sealing header of a stored vector: its envelope without the crypto fields. */
export function headerOf(envelope: Envelope): EnvelopeHeader {
  const { payload: _payload, sig: _sig, ...header } = envelope;
  return header;
}

async function envelopeVector(c: EnvelopeCase): Promise<EnvelopeVector> {
  const header = caseHeader(c);
  const seed = `taskferry/1 test vector ${c.name}`;
  const sender = await testKeys(c.from);
  const recipients = await Promise.all(
    c.to.map(async (h) => ({ handle: h, keys: await testKeys(h) })),
  );
  const envelope = await sealEnvelope(
    header,
    c.plaintext,
    { handle: c.from, signingPrivateKey: sender.signing.privateKey },
    recipients.map((r) => ({ handle: r.handle, encryptionPublicKey: r.keys.encryption.publicKey })),
    { random: await seededRandom(seed) },
  );

  // Replay the same stream to record the intermediate values.
  const random = await seededRandom(seed);
  const contentKey = random(32);
  const nonce = random(12);
  const hpke = [];
  for (const r of recipients) {
    const ikm = random(32);
    const pair = await referenceHpke.kem.deriveKeyPair(ikm.slice().buffer);
    hpke.push({
      to: r.handle,
      info: text(hpkeInfo(header.id, r.handle)),
      ikm: b64(ikm),
      ephemeral_private_key: b64(
        new Uint8Array(await referenceHpke.kem.serializePrivateKey(pair.privateKey)),
      ),
      enc: b64(new Uint8Array(await referenceHpke.kem.serializePublicKey(pair.publicKey))),
    });
  }

  return {
    name: c.name,
    description: c.description,
    key_source: KEY_SOURCE,
    random_source: RANDOM_SOURCE,
    random_seed: seed,
    sender: {
      handle: c.from,
      signing_public_key: b64(sender.signing.publicKey),
      signing_private_key: b64(sender.signing.privateKey),
    },
    recipients: recipients.map((r) => ({
      handle: r.handle,
      encryption_public_key: b64(r.keys.encryption.publicKey),
      encryption_private_key: b64(r.keys.encryption.privateKey),
    })),
    plaintext: c.plaintext,
    plaintext_json: JSON.stringify(c.plaintext),
    intermediate: {
      content_key: b64(contentKey),
      nonce: b64(nonce),
      aad: canonicalJson(aadObject(header, "application/json")),
      hpke,
      signing_input: text(signingInput(envelope)),
    },
    envelope,
  };
}

async function identityVector(handle: string, clientId: string): Promise<IdentityVector> {
  const keys = await testKeys(handle);
  const rotated = await testKeys(handle, " rotated");
  const pub = {
    signing_public_key: b64(keys.signing.publicKey),
    encryption_public_key: b64(keys.encryption.publicKey),
  };
  const newPub = {
    signing_public_key: b64(rotated.signing.publicKey),
    encryption_public_key: b64(rotated.encryption.publicKey),
  };
  const registration = registrationInput(handle, pub, clientId);
  const rotation = rotationInput(handle, newPub);
  return {
    name: `identity-${clientId}`,
    description:
      `keys, fingerprint, registration proof (signed by the new key) and a key rotation ` +
      `(signed by the old key) for ${handle}; rotated keys use "<handle> rotated" in place of ` +
      `the handle in the key derivation`,
    key_source: KEY_SOURCE,
    handle,
    client_id: clientId,
    signing_private_key: b64(keys.signing.privateKey),
    signing_public_key: pub.signing_public_key,
    encryption_private_key: b64(keys.encryption.privateKey),
    encryption_public_key: pub.encryption_public_key,
    fingerprint: await fingerprint({
      signing: keys.signing.publicKey,
      encryption: keys.encryption.publicKey,
    }),
    registration: {
      input: text(registration),
      signature: b64(await sign(keys.signing.privateKey, registration)),
    },
    rotation: {
      new_signing_private_key: b64(rotated.signing.privateKey),
      new_signing_public_key: newPub.signing_public_key,
      new_encryption_private_key: b64(rotated.encryption.privateKey),
      new_encryption_public_key: newPub.encryption_public_key,
      new_fingerprint: await fingerprint({
        signing: rotated.signing.publicKey,
        encryption: rotated.encryption.publicKey,
      }),
      input: text(rotation),
      signature: b64(await sign(keys.signing.privateKey, rotation)),
    },
  };
}

/** All vector files, by file name, as the values to be written. */
export async function buildVectors(): Promise<{
  "envelope_v1.json": EnvelopeVector[];
  "identity_v1.json": IdentityVector[];
  "blob_v1.json": BlobVector[];
}> {
  const blobs = await buildBlobVectors();
  const envelopes = [];
  for (const c of [...CASES, filesCase(blobs), ...offerCases({ ALICE, BOB, CAROL, DAVE })]) {
    envelopes.push(await envelopeVector(c));
  }
  return {
    "blob_v1.json": blobs,
    "envelope_v1.json": envelopes,
    "identity_v1.json": [await identityVector(ALICE, "alice"), await identityVector(BOB, "bob")],
  };
}

/** Decodes a base64url key field of a vector. */
export const key = (text: string): Uint8Array => decodeBase64Url(text);

/** The directory of the vector files. */
export const VECTOR_DIR = new URL("./", import.meta.url);

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let stale = 0;
  for (const [file, value] of Object.entries(await buildVectors())) {
    const url = new URL(file, VECTOR_DIR);
    const textOut = JSON.stringify(value, null, 2) + "\n";
    if (check) {
      const current = await Deno.readTextFile(url).catch(() => "");
      const same = current !== "" &&
        JSON.stringify(JSON.parse(current)) === JSON.stringify(value);
      if (!same) stale++;
      console.log(`${same ? "ok   " : "STALE"} ${file}`);
    } else {
      await Deno.writeTextFile(url, textOut);
      console.log(`wrote tests/vectors/${file}`);
    }
  }
  if (stale) Deno.exit(1);
}
