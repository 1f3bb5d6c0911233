/**
 * An independent implementation of the protocol v1 crypto, written from the RFCs (8032 Ed25519,
 * 7748 X25519, 9180 HPKE, 8785 JCS, 5869 HKDF) on top of @noble primitives only. It imports
 * nothing from lib/protocol: it reads the vectors in tests/vectors/, checks every signature,
 * opens every recipient's copy, and re-seals each envelope from the documented inputs, which
 * must give the stored envelope byte for byte.
 */
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { gcm } from "@noble/ciphers/aes.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { assert, assertEquals } from "../assert.ts";

// ---------------------------------------------------------------------------------------------
// Bytes, base64url (RFC 4648 §5, no padding), hex.

const utf8 = (s: string) => new TextEncoder().encode(s);
const fromUtf8 = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(b);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** I2OSP(n, len): big-endian unsigned integer of `len` bytes. */
function i2osp(n: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  return out;
}

function b64uDecode(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new Error(`bad base64url ${s}`);
  const std = s.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(std + "===".slice((std.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function b64uEncode(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// ---------------------------------------------------------------------------------------------
// RFC 8785 JCS: enough for JSON values made of null, booleans, finite numbers, strings, arrays
// and plain objects. ECMAScript's JSON.stringify already serializes strings and numbers the way
// JCS §3.2.2 requires; objects get their keys sorted by UTF-16 code units (§3.2.3).

function compareUtf16(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function jcs(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("JCS: non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareUtf16);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(obj[k])}`).join(",")}}`;
  }
  throw new Error(`JCS: cannot serialize ${typeof value}`);
}

// ---------------------------------------------------------------------------------------------
// RFC 9180 HPKE, base mode, single shot, DHKEM(X25519, HKDF-SHA256) + HKDF-SHA256 + AES-GCM.

const KEM_X25519_HKDF_SHA256 = 0x0020;
const KDF_HKDF_SHA256 = 0x0001;
const AEAD_AES_128_GCM = 0x0001;
const AEAD_AES_256_GCM = 0x0002;
const MODE_BASE = 0x00;
const EMPTY = new Uint8Array(0);

const KEM_SUITE_ID = concat(utf8("KEM"), i2osp(KEM_X25519_HKDF_SHA256, 2));
const hpkeSuiteId = (aeadId: number) =>
  concat(
    utf8("HPKE"),
    i2osp(KEM_X25519_HKDF_SHA256, 2),
    i2osp(KDF_HKDF_SHA256, 2),
    i2osp(aeadId, 2),
  );

function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array) {
  return extract(sha256, concat(utf8("HPKE-v1"), suite, utf8(label), ikm), salt);
}

function labeledExpand(
  suite: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
) {
  return expand(
    sha256,
    prk,
    concat(i2osp(length, 2), utf8("HPKE-v1"), suite, utf8(label), info),
    length,
  );
}

/** RFC 9180 §7.1.3 DeriveKeyPair for X25519 (the scalar is used as is; X25519 clamps). */
function deriveKeyPair(ikm: Uint8Array) {
  const dkpPrk = labeledExtract(KEM_SUITE_ID, EMPTY, "dkp_prk", ikm);
  const sk = labeledExpand(KEM_SUITE_ID, dkpPrk, "sk", EMPTY, 32);
  return { sk, pk: x25519.getPublicKey(sk) };
}

function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array) {
  const eaePrk = labeledExtract(KEM_SUITE_ID, EMPTY, "eae_prk", dh);
  return labeledExpand(KEM_SUITE_ID, eaePrk, "shared_secret", kemContext, 32);
}

function encap(pkR: Uint8Array, ikmE: Uint8Array) {
  const { sk: skE, pk: enc } = deriveKeyPair(ikmE);
  const dh = x25519.getSharedSecret(skE, pkR);
  return { sharedSecret: extractAndExpand(dh, concat(enc, pkR)), enc };
}

function decap(enc: Uint8Array, skR: Uint8Array) {
  const dh = x25519.getSharedSecret(skR, enc);
  return extractAndExpand(dh, concat(enc, x25519.getPublicKey(skR)));
}

function keySchedule(sharedSecret: Uint8Array, info: Uint8Array, aeadId: number) {
  const suite = hpkeSuiteId(aeadId);
  const nk = aeadId === AEAD_AES_256_GCM ? 32 : 16;
  const pskIdHash = labeledExtract(suite, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = labeledExtract(suite, EMPTY, "info_hash", info);
  const context = concat(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(suite, sharedSecret, "secret", EMPTY); // psk = ""
  return {
    context,
    secret,
    key: labeledExpand(suite, secret, "key", context, nk),
    // Sequence number 0: the nonce is base_nonce XOR I2OSP(0, 12) = base_nonce.
    baseNonce: labeledExpand(suite, secret, "base_nonce", context, 12),
  };
}

function hpkeSeal(
  pkR: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  pt: Uint8Array,
  ikmE: Uint8Array,
  aeadId = AEAD_AES_256_GCM,
) {
  const { sharedSecret, enc } = encap(pkR, ikmE);
  const { key, baseNonce } = keySchedule(sharedSecret, info, aeadId);
  return { enc, ct: gcm(key, baseNonce, aad).encrypt(pt) };
}

function hpkeOpen(enc: Uint8Array, skR: Uint8Array, info: Uint8Array, ct: Uint8Array) {
  const { key, baseNonce } = keySchedule(decap(enc, skR), info, AEAD_AES_256_GCM);
  return gcm(key, baseNonce, EMPTY).decrypt(ct);
}

// ---------------------------------------------------------------------------------------------
// The TaskFerry v1 envelope, from docs/protocol.md.

interface Vector {
  name: string;
  random_seed: string;
  sender: { handle: string; signing_public_key: string; signing_private_key: string };
  recipients: { handle: string; encryption_public_key: string; encryption_private_key: string }[];
  plaintext: Record<string, unknown>;
  plaintext_json: string;
  intermediate: {
    content_key: string;
    nonce: string;
    aad: string;
    hpke: { to: string; info: string; ikm: string; ephemeral_private_key: string; enc: string }[];
    signing_input: string;
  };
  envelope: Record<string, unknown> & {
    id: string;
    to: string[];
    payload: {
      content_type: string;
      nonce: string;
      ciphertext: string;
      keys: { to: string; enc: string; wrapped: string }[];
    };
    sig: string;
  };
}

interface Identity {
  name: string;
  handle: string;
  client_id: string;
  signing_private_key: string;
  signing_public_key: string;
  encryption_private_key: string;
  encryption_public_key: string;
  fingerprint: string;
  registration: { input: string; signature: string };
  rotation: {
    new_signing_public_key: string;
    new_encryption_public_key: string;
    new_fingerprint: string;
    input: string;
    signature: string;
  };
}

const HEADER_FIELDS = [
  "v",
  "id",
  "type",
  "from",
  "to",
  "conversation_id",
  "task_id",
  "reply_to",
  "blobs",
  "created_at",
  "device_id",
] as const;
const AAD_FIELDS = [
  "v",
  "id",
  "type",
  "from",
  "to",
  "conversation_id",
  "task_id",
  "reply_to",
  "blobs",
  "created_at",
] as const;

function aadBytes(envelope: Record<string, unknown>, contentType: string): Uint8Array {
  const obj: Record<string, unknown> = {};
  for (const f of AAD_FIELDS) if (envelope[f] !== undefined) obj[f] = envelope[f];
  obj.content_type = contentType;
  return utf8(jcs(obj));
}

const infoBytes = (id: string, handle: string) => utf8(`taskferry/1 content-key\n${id}\n${handle}`);

function signingBytes(envelope: Record<string, unknown>): Uint8Array {
  const { sig: _sig, ...unsigned } = envelope;
  return utf8(jcs(unsigned));
}

/** The documented randomness: SHA-256 counter mode over the seed. */
function seededStream(seed: string) {
  let block = 0;
  let buffer: Uint8Array = new Uint8Array(0);
  return (n: number) => {
    while (buffer.length < n) {
      buffer = concat(buffer, sha256(concat(utf8(seed), i2osp(block++, 4))));
    }
    const out = buffer.slice(0, n);
    buffer = buffer.slice(n);
    return out;
  };
}

function independentSeal(v: Vector) {
  const random = seededStream(v.random_seed);
  const k = random(32);
  const nonce = random(12);
  const header: Record<string, unknown> = {};
  for (const f of HEADER_FIELDS) if (v.envelope[f] !== undefined) header[f] = v.envelope[f];
  const contentType = "application/json";
  const ciphertext = gcm(k, nonce, aadBytes(header, contentType)).encrypt(utf8(v.plaintext_json));
  const keys = v.recipients.map((r) => {
    const { enc, ct } = hpkeSeal(
      b64uDecode(r.encryption_public_key),
      infoBytes(header.id as string, r.handle),
      EMPTY,
      k,
      random(32),
    );
    return { to: r.handle, enc: b64uEncode(enc), wrapped: b64uEncode(ct) };
  });
  const unsigned = {
    ...header,
    payload: {
      alg: "HPKE-X25519-SHA256-A256GCM",
      content_type: contentType,
      nonce: b64uEncode(nonce),
      ciphertext: b64uEncode(ciphertext),
      keys,
    },
  };
  const sig = ed25519.sign(signingBytes(unsigned), b64uDecode(v.sender.signing_private_key));
  return { envelope: { ...unsigned, sig: b64uEncode(sig) }, contentKey: k };
}

function independentOpen(v: Vector, recipient: Vector["recipients"][number]) {
  const env = v.envelope;
  assert(
    ed25519.verify(
      b64uDecode(env.sig),
      signingBytes(env),
      b64uDecode(v.sender.signing_public_key),
    ),
    "signature",
  );
  const entry = env.payload.keys.find((k) => k.to === recipient.handle);
  assert(entry && env.to.includes(recipient.handle), "recipient entry");
  const k = hpkeOpen(
    b64uDecode(entry.enc),
    b64uDecode(recipient.encryption_private_key),
    infoBytes(env.id, recipient.handle),
    b64uDecode(entry.wrapped),
  );
  const plaintext = gcm(
    k,
    b64uDecode(env.payload.nonce),
    aadBytes(env, env.payload.content_type),
  ).decrypt(b64uDecode(env.payload.ciphertext));
  return { contentKey: k, plaintext };
}

// ---------------------------------------------------------------------------------------------
// Self-checks of the independent pieces against the RFCs' own examples.

Deno.test("independent HPKE reproduces RFC 9180 appendix A.1.1 (base, AES-128-GCM)", () => {
  const info = hex("4f6465206f6e2061204772656369616e2055726e");
  const ikmE = hex("7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234");
  const ikmR = hex("6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037");
  const e = deriveKeyPair(ikmE);
  const r = deriveKeyPair(ikmR);
  assertEquals(toHex(e.sk), "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736");
  assertEquals(toHex(e.pk), "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431");
  assertEquals(toHex(r.sk), "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8");
  assertEquals(toHex(r.pk), "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d");
  const { sharedSecret, enc } = encap(r.pk, ikmE);
  assertEquals(
    toHex(sharedSecret),
    "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
  );
  assertEquals(toHex(decap(enc, r.sk)), toHex(sharedSecret));
  const ks = keySchedule(sharedSecret, info, AEAD_AES_128_GCM);
  assertEquals(
    toHex(ks.context),
    "00725611c9d98c07c03f60095cd32d400d8347d45ed67097bbad50fc56da742d07" +
      "cb6cffde367bb0565ba28bb02c90744a20f5ef37f30523526106f637abb05449",
  );
  assertEquals(
    toHex(ks.secret),
    "12fff91991e93b48de37e7daddb52981084bd8aa64289c3788471d9a9712f397",
  );
  assertEquals(toHex(ks.key), "4531685d41d65f03dc48f6b8302c05b0");
  assertEquals(toHex(ks.baseNonce), "56d890e5accaaf011cff4b7d");
  const sealed = hpkeSeal(
    r.pk,
    info,
    hex("436f756e742d30"), // "Count-0"
    hex("4265617574792069732074727574682c20747275746820626561757479"),
    ikmE,
    AEAD_AES_128_GCM,
  );
  assertEquals(
    toHex(sealed.ct),
    "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
  );
});

Deno.test("independent JCS reproduces the RFC 8785 section 3.2.2 and 3.2.3 examples", () => {
  const input = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;
  assertEquals(
    jcs(JSON.parse(input)),
    String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],` +
      String.raw`"string":"€$\u000f\nA'B\"\\\\\"/"}`,
  );
  const sorting = JSON.parse(String.raw`{
    "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }`);
  assertEquals(
    jcs(sorting),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
      '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
      '"\u{1f600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

// ---------------------------------------------------------------------------------------------
// The vectors.

const dir = new URL("../vectors/", import.meta.url);
const vectors = JSON.parse(await Deno.readTextFile(new URL("envelope_v1.json", dir))) as Vector[];
const identities = JSON.parse(
  await Deno.readTextFile(new URL("identity_v1.json", dir)),
) as Identity[];

Deno.test("there are envelope and identity vectors", () => {
  assert(vectors.length >= 4);
  assert(identities.length >= 1);
});

for (const v of vectors) {
  Deno.test(`noble: ${v.name}: public keys follow from the private keys`, () => {
    assertEquals(
      b64uEncode(ed25519.getPublicKey(b64uDecode(v.sender.signing_private_key))),
      v.sender.signing_public_key,
    );
    for (const r of v.recipients) {
      assertEquals(
        b64uEncode(x25519.getPublicKey(b64uDecode(r.encryption_private_key))),
        r.encryption_public_key,
      );
    }
  });

  Deno.test(`noble: ${v.name}: signature, AAD and HPKE intermediates`, () => {
    const env = v.envelope;
    assertEquals(fromUtf8(signingBytes(env)), v.intermediate.signing_input);
    assertEquals(fromUtf8(aadBytes(env, env.payload.content_type)), v.intermediate.aad);
    assert(
      ed25519.verify(
        b64uDecode(env.sig),
        signingBytes(env),
        b64uDecode(v.sender.signing_public_key),
      ),
    );
    // Ed25519 is deterministic: signing the same bytes gives the stored signature.
    assertEquals(
      b64uEncode(ed25519.sign(signingBytes(env), b64uDecode(v.sender.signing_private_key))),
      env.sig,
    );
    v.intermediate.hpke.forEach((h, i) => {
      const pair = deriveKeyPair(b64uDecode(h.ikm));
      assertEquals(b64uEncode(pair.sk), h.ephemeral_private_key);
      assertEquals(b64uEncode(pair.pk), env.payload.keys[i]!.enc);
      assertEquals(h.info, fromUtf8(infoBytes(env.id, env.to[i]!)));
    });
    // A different signer does not verify.
    const other = ed25519.getPublicKey(sha256(utf8("someone else")));
    assert(!ed25519.verify(b64uDecode(env.sig), signingBytes(env), other));
  });

  Deno.test(`noble: ${v.name}: every recipient opens its copy`, () => {
    for (const r of v.recipients) {
      const { contentKey, plaintext } = independentOpen(v, r);
      assertEquals(b64uEncode(contentKey), v.intermediate.content_key);
      assertEquals(fromUtf8(plaintext), v.plaintext_json);
      assertEquals(JSON.parse(fromUtf8(plaintext)), v.plaintext);
    }
  });

  Deno.test(`noble: ${v.name}: re-sealing from the documented inputs gives the envelope`, () => {
    const { envelope, contentKey } = independentSeal(v);
    assertEquals(b64uEncode(contentKey), v.intermediate.content_key);
    assertEquals(envelope, v.envelope);
    assertEquals(jcs(envelope), jcs(v.envelope));
    assertEquals(JSON.stringify(envelope), JSON.stringify(v.envelope));
  });
}

for (const id of identities) {
  Deno.test(`noble: ${id.name}: fingerprint, registration and rotation`, () => {
    const sk = b64uDecode(id.signing_private_key);
    const pk = ed25519.getPublicKey(sk);
    assertEquals(b64uEncode(pk), id.signing_public_key);
    const xpk = x25519.getPublicKey(b64uDecode(id.encryption_private_key));
    assertEquals(b64uEncode(xpk), id.encryption_public_key);
    const fp = (s: string, e: string) =>
      toHex(sha256(concat(b64uDecode(s), b64uDecode(e))).subarray(0, 16)).match(/.{4}/g)!.join(
        "-",
      );
    assertEquals(fp(id.signing_public_key, id.encryption_public_key), id.fingerprint);
    assertEquals(
      fp(id.rotation.new_signing_public_key, id.rotation.new_encryption_public_key),
      id.rotation.new_fingerprint,
    );

    const registration = jcs({
      purpose: "taskferry/1 register",
      handle: id.handle,
      client_id: id.client_id,
      signing_public_key: id.signing_public_key,
      encryption_public_key: id.encryption_public_key,
    });
    assertEquals(registration, id.registration.input);
    assert(ed25519.verify(b64uDecode(id.registration.signature), utf8(registration), pk));
    assertEquals(b64uEncode(ed25519.sign(utf8(registration), sk)), id.registration.signature);

    const rotation = jcs({
      purpose: "taskferry/1 rotate",
      handle: id.handle,
      signing_public_key: id.rotation.new_signing_public_key,
      encryption_public_key: id.rotation.new_encryption_public_key,
    });
    assertEquals(rotation, id.rotation.input);
    assert(ed25519.verify(b64uDecode(id.rotation.signature), utf8(rotation), pk));
  });
}
