/**
 * An independent implementation of the blob chunk format, written from docs/protocol.md §15 on
 * top of @noble only (like noble_test.ts for envelopes). It imports nothing from lib/protocol:
 * it derives each vector's key from the documented randomness, rebuilds every nonce and AAD,
 * re-seals every chunk byte for byte, opens the stored chunks, and checks the descriptor and the
 * envelope vector that carries the files.
 */
import { gcm } from "@noble/ciphers/aes.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { assert, assertEquals, assertThrows } from "../assert.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const fromUtf8 = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(b);
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function b64uDecode(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new Error(`bad base64url ${s}`);
  const std = s.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(std + "===".slice((std.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

const b64uEncode = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

/** §15: nonce = uint64_be(index) ‖ 00 00 00 ‖ final (01 or 00). */
function nonce(index: number, final: boolean): Uint8Array {
  const out = new Uint8Array(12);
  let n = index;
  for (let i = 7; i >= 0; i--) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  out[11] = final ? 1 : 0;
  return out;
}

/** §15: AAD = UTF-8("taskferry/1 blob-chunk\n" ‖ blob id ‖ "\n" ‖ decimal index ‖ "\n" ‖ 0|1). */
const aad = (blobId: string, index: number, final: boolean) =>
  utf8(`taskferry/1 blob-chunk\n${blobId}\n${index}\n${final ? "1" : "0"}`);

/** §14: the first 32 bytes of the seeded stream are block_0 = SHA-256(seed ‖ uint32_be(0)). */
const firstBlock = (seed: string) => sha256(new Uint8Array([...utf8(seed), 0, 0, 0, 0]));

interface BlobVector {
  name: string;
  random_seed: string;
  chunk_size: number;
  blob_id: string;
  key: string;
  plaintext: string;
  sha256: string;
  chunks: {
    index: number;
    final: boolean;
    nonce: string;
    aad: string;
    plaintext: string;
    sealed: string;
  }[];
  file: Record<string, unknown>;
}

const dir = new URL("../vectors/", import.meta.url);
const blobs = JSON.parse(await Deno.readTextFile(new URL("blob_v1.json", dir))) as BlobVector[];
const envelopes = JSON.parse(await Deno.readTextFile(new URL("envelope_v1.json", dir))) as {
  name: string;
  plaintext: { files?: Record<string, unknown>[] };
  envelope: { blobs?: string[] };
  intermediate: { aad: string };
}[];

Deno.test("noble blob: there are blob vectors, one of several chunks", () => {
  assert(blobs.length >= 3);
  assert(blobs.some((v) => v.chunks.length >= 3));
});

for (const v of blobs) {
  Deno.test(`noble blob: ${v.name}: key, nonces, AAD and chunks re-derive byte for byte`, () => {
    const key = firstBlock(v.random_seed);
    assertEquals(b64uEncode(key), v.key);
    const plain = utf8(v.plaintext);
    const count = Math.max(1, Math.ceil(plain.length / v.chunk_size));
    assertEquals(v.chunks.length, count);
    v.chunks.forEach((c, index) => {
      const final = index === count - 1;
      assertEquals([c.index, c.final], [index, final]);
      assertEquals(c.nonce, toHex(nonce(index, final)));
      assertEquals(c.aad, fromUtf8(aad(v.blob_id, index, final)));
      const part = plain.subarray(index * v.chunk_size, (index + 1) * v.chunk_size);
      assertEquals(c.plaintext, toHex(part));
      const sealed = gcm(key, nonce(index, final), aad(v.blob_id, index, final)).encrypt(part);
      assertEquals(b64uEncode(sealed), c.sealed);
      assertEquals(sealed.length, part.length + 16);
    });
    assertEquals(b64uEncode(sha256(plain)), v.sha256);
    assertEquals(v.file, {
      blob_id: v.blob_id,
      name: v.file.name,
      size: plain.length,
      media_type: v.file.media_type,
      sha256: v.sha256,
      key: v.key,
    });
  });

  Deno.test(`noble blob: ${v.name}: stored chunks open, and only in their place`, () => {
    const key = b64uDecode(v.key);
    const opened = v.chunks.map((c) =>
      gcm(key, nonce(c.index, c.final), aad(v.blob_id, c.index, c.final)).decrypt(
        b64uDecode(c.sealed),
      )
    );
    assertEquals(fromUtf8(new Uint8Array(opened.flatMap((b) => [...b]))), v.plaintext);
    const last = v.chunks.at(-1)!;
    const sealed = b64uDecode(last.sealed);
    // The final flag, the index and the blob id are each bound: any other value fails.
    assertThrows(() =>
      gcm(key, nonce(last.index, false), aad(v.blob_id, last.index, false)).decrypt(sealed)
    );
    assertThrows(() =>
      gcm(key, nonce(last.index + 1, true), aad(v.blob_id, last.index + 1, true)).decrypt(sealed)
    );
    const other = v.blob_id.slice(0, -1) + (v.blob_id.endsWith("Z") ? "Y" : "Z");
    assertThrows(() =>
      gcm(key, nonce(last.index, true), aad(other, last.index, true)).decrypt(sealed)
    );
  });
}

Deno.test("noble blob: the files envelope vector lists the blobs in its signed header", () => {
  const v = envelopes.find((e) => e.name === "message-with-files");
  assert(v, "message-with-files vector");
  const files = v.plaintext.files!;
  assertEquals(v.envelope.blobs, files.map((f) => f.blob_id));
  for (const f of files) assert(blobs.some((b) => JSON.stringify(b.file) === JSON.stringify(f)));
  // JCS puts "blobs" first in the AAD (noble_test.ts checks the AAD bytes and the signature).
  assert(v.intermediate.aad.startsWith(`{"blobs":${JSON.stringify(v.envelope.blobs)},`));
  for (const e of envelopes.filter((e) => e.name !== "message-with-files")) {
    assertEquals(e.envelope.blobs, undefined);
    assert(!e.intermediate.aad.includes("blobs"));
  }
});
