/**
 * The blob format (lib/protocol/blob.ts, docs/protocol.md §15) as a user and an attacker drive
 * it: the vectors reproduce, every size round-trips through the stream helpers whatever the
 * input's piece sizes, memory stays flat for a large file, and each way of tampering with the
 * chunks — reorder, drop, cut off the final chunk, flip a byte, move to another blob, append,
 * lie about size or hash — fails with its stable code.
 */
import { createHash } from "node:crypto";
import { assert, assertCode, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import {
  BLOB_TAG_SIZE,
  blobChunkAad,
  blobChunkCount,
  blobChunkNonce,
  decodeBase64Url,
  encodeBase64Url,
  importBlobKey,
  newId,
  openBlobChunk,
  openBlobStream,
  randomBytes,
  sealBlobChunk,
  sealBlobStream,
} from "../../lib/protocol/mod.ts";
import { runProbe } from "../memory.ts";
import { buildBlobVectors } from "../vectors/blob_vectors.ts";
import { VECTOR_DIR } from "../vectors/generate.ts";
import type { BlobVector } from "../vectors/blob_vectors.ts";

const hash = () => createHash("sha256");
const sha = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const CHUNK = 64;

/** Random bytes of any length (getRandomValues gives at most 64 KiB at a time). */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

async function* each(list: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const b of list) yield b;
}

async function collect<T, R>(gen: AsyncGenerator<T, R>): Promise<{ items: T[]; result: R }> {
  const items: T[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done) return { items, result: next.value };
    items.push(next.value);
  }
}

const concat = (list: Uint8Array[]) => {
  const out = new Uint8Array(list.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of list) {
    out.set(b, at);
    at += b.length;
  }
  return out;
};

/** Seals `bytes` into its list of sealed chunks. */
async function seal(bytes: Uint8Array, key: Uint8Array, blobId: string) {
  const { items, result } = await collect(
    sealBlobStream(pieces(bytes, 7), { key, blobId, chunkSize: CHUNK, hash }),
  );
  return { chunks: items.map((c) => c.sealed), summary: result };
}

function open(chunks: Uint8Array[], key: Uint8Array, blobId: string, expect?: Uint8Array) {
  return collect(openBlobStream(each(chunks), {
    key,
    blobId,
    chunkSize: CHUNK,
    hash,
    ...(expect ? { size: expect.length, sha256: sha(expect) } : {}),
  }));
}

const stored = JSON.parse(
  await Deno.readTextFile(new URL("blob_v1.json", VECTOR_DIR)),
) as BlobVector[];

Deno.test("blob vectors: the file is what blob_vectors.ts produces, and it re-seals", async () => {
  assertEquals(stored, JSON.parse(JSON.stringify(await buildBlobVectors())));
  // Several chunks with a short last one, a full last one, and an empty file.
  assert(stored.some((v) => v.chunks.length >= 3 && v.chunks.at(-1)!.plaintext.length < 32));
  assert(stored.some((v) => v.chunks.length >= 2 && v.chunks.at(-1)!.plaintext.length === 32));
  assert(stored.some((v) => v.chunks.length === 1 && v.file.size === 0));
  for (const v of stored) {
    const key = decodeBase64Url(v.key);
    const bytes = new TextEncoder().encode(v.plaintext);
    const { items, result } = await collect(
      sealBlobStream(each([bytes]), { key, blobId: v.blob_id, chunkSize: v.chunk_size, hash }),
    );
    assertEquals(items.map((c) => encodeBase64Url(c.sealed)), v.chunks.map((c) => c.sealed));
    assertEquals(items.map((c) => c.final), v.chunks.map((c) => c.final));
    assertEquals(encodeBase64Url(result.sha256!), v.sha256);
    assertEquals(result.size, v.file.size);
  }
});

Deno.test("blob: every size round-trips, whatever the input pieces", async () => {
  const key = randomBytes(32);
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5]) {
    const bytes = noise(size);
    for (const piece of [1, 5, CHUNK, 1000]) {
      const blobId = newId("blob");
      const { items, result } = await collect(
        sealBlobStream(pieces(bytes, piece), { key, blobId, chunkSize: CHUNK, hash }),
      );
      assertEquals(items.length, blobChunkCount(size, CHUNK));
      assertEquals(items.map((c) => c.index), items.map((_, i) => i));
      assertEquals(items.map((c) => c.final), items.map((_, i) => i === items.length - 1));
      assertEquals(result, { size, chunks: items.length, sha256: sha(bytes) });
      const sealedStream = concat(items.map((c) => c.sealed));
      // The opener cuts a plain byte stream itself: any piece size works.
      const opened = await collect(openBlobStream(pieces(sealedStream, piece + 3), {
        key,
        blobId,
        chunkSize: CHUNK,
        hash,
        size,
        sha256: sha(bytes),
      }));
      assertEquals(concat(opened.items), bytes);
      assertEquals(opened.result.chunks, items.length);
    }
  }
});

Deno.test("blob: a chunk size that is not a positive integer is refused, not looped on", async () => {
  for (const chunkSize of [0, -1, 1.5, NaN]) {
    const gen = sealBlobStream(pieces(noise(10), 3), {
      key: randomBytes(32),
      blobId: newId("blob"),
      chunkSize,
    });
    await assertRejects(() => gen.next(), RangeError);
  }
});

Deno.test("blob: a ReadableStream is a source for sealing and for opening", async () => {
  const key = randomBytes(32);
  const blobId = newId("blob");
  const bytes = noise(5 * CHUNK + 1);
  const sealed: Uint8Array[] = [];
  const source = ReadableStream.from(pieces(bytes, 100));
  for await (const c of sealBlobStream(source, { key, blobId, chunkSize: CHUNK })) {
    sealed.push(c.sealed);
  }
  const back = ReadableStream.from(each(sealed));
  const opened = await collect(openBlobStream(back, { key, blobId, chunkSize: CHUNK }));
  assertEquals(concat(opened.items), bytes);
});

Deno.test("blob: nonces put the index in 8 bytes, big-endian, and the final flag last", () => {
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  assertEquals(hex(blobChunkNonce(0, false)), "000000000000000000000000");
  assertEquals(hex(blobChunkNonce(258, true)), "000000000000010200000001");
  assertEquals(hex(blobChunkNonce(2 ** 32 + 5, false)), "000000010000000500000000");
  assertEquals(hex(blobChunkNonce(2 ** 40, true)), "000001000000000000000001");
  for (const bad of [-1, 1.5, NaN, 2 ** 53]) assertThrows(() => blobChunkNonce(bad, false));
  assertThrows(() => blobChunkAad("msg_01M7ZVNRE000000000000000B1", 0, false), TypeError);
});

Deno.test("blob: a sealed chunk is the plaintext plus a 16-byte tag and hides it", async () => {
  const key = await importBlobKey(randomBytes(32));
  const blobId = newId("blob");
  const marker = new TextEncoder().encode("PLAINTEXT-MARKER-".repeat(8));
  const sealed = await sealBlobChunk(key, blobId, 0, true, marker);
  assertEquals(sealed.length, marker.length + BLOB_TAG_SIZE);
  assert(!new TextDecoder().decode(sealed).includes("PLAINTEXT-MARKER"));
  assertEquals(await openBlobChunk(key, blobId, 0, true, sealed), marker);
});

Deno.test("blob tamper: reorder, drop, truncate, flip, move, append each fail", async () => {
  const key = randomBytes(32);
  const blobId = newId("blob");
  const bytes = randomBytes(4 * CHUNK + 10); // 5 chunks
  const { chunks } = await seal(bytes, key, blobId);
  assertEquals(chunks.length, 5);
  assertEquals(concat((await open(chunks, key, blobId, bytes)).items), bytes);

  const swapped = [chunks[1]!, chunks[0]!, ...chunks.slice(2)];
  await assertCode(() => open(swapped, key, blobId), "blob_corrupt");
  const dropped = [chunks[0]!, ...chunks.slice(2)];
  await assertCode(() => open(dropped, key, blobId), "blob_corrupt");
  // The last chunk missing: every remaining chunk is authentic, but none was sealed as final.
  await assertCode(() => open(chunks.slice(0, 4), key, blobId), "blob_truncated");
  await assertCode(() => open(chunks.slice(0, 1), key, blobId), "blob_truncated");
  await assertCode(() => open([], key, blobId), "blob_truncated");
  for (const [i, at] of [[0, 0], [2, 30], [4, 9], [4, 25]] as const) {
    const flipped = chunks.map((c) => c.slice());
    flipped[i]![at]! ^= 0x01;
    await assertCode(() => open(flipped, key, blobId), "blob_corrupt");
  }
  await assertCode(() => open(chunks, key, newId("blob")), "blob_corrupt");
  await assertCode(() => open(chunks, randomBytes(32), blobId), "blob_corrupt");
  const duplicated = [...chunks, chunks[4]!];
  await assertCode(() => open(duplicated, key, blobId), "blob_corrupt");
  // A chunk of another blob at the same index (same key even) does not fit.
  const other = await seal(randomBytes(4 * CHUNK + 10), key, newId("blob"));
  const mixed = [...chunks.slice(0, 2), other.chunks[2]!, ...chunks.slice(3)];
  await assertCode(() => open(mixed, key, blobId), "blob_corrupt");
  // A short last chunk that was cut (not just dropped) fails its tag.
  const cut = [...chunks.slice(0, 4), chunks[4]!.subarray(0, 20)];
  await assertCode(() => open(cut, key, blobId), "blob_corrupt");
});

Deno.test("blob: a descriptor whose size or SHA-256 differs is refused", async () => {
  const key = randomBytes(32);
  const blobId = newId("blob");
  const bytes = randomBytes(2 * CHUNK);
  const { chunks } = await seal(bytes, key, blobId);
  const base = { key, blobId, chunkSize: CHUNK, hash };
  await assertCode(
    () => collect(openBlobStream(each(chunks), { ...base, size: bytes.length + 1 })),
    "blob_corrupt",
  );
  await assertCode(
    () => collect(openBlobStream(each(chunks), { ...base, sha256: sha(randomBytes(3)) })),
    "blob_corrupt",
  );
});

Deno.test("blob: memory stays flat sealing and opening 128 MiB in 1 MiB chunks", async () => {
  // A memory probe (tests/memory.ts): live memory after collection, in a process of its own.
  const probe = new URL("./blob_memory_probe.ts", import.meta.url);
  type Peak = { live_mib: number; rss_mib: number };
  const [flat, holding] = await Promise.all([
    runProbe<Peak>(probe, ["128"]),
    runProbe<Peak>(probe, ["128", "--hold"]),
  ]);
  // Measured: +7 MiB live (the chunks in flight); holding the sealed file, +132 MiB.
  const bound = 32;
  assert(flat.live_mib < bound, `live memory grew by ${flat.live_mib.toFixed(1)} MiB`);
  assert(holding.live_mib > bound, `the bound misses a held file: +${holding.live_mib.toFixed(1)}`);
  console.log(
    `blob: 128 MiB sealed and opened: live +${flat.live_mib.toFixed(1)} MiB, RSS +${
      flat.rss_mib.toFixed(1)
    } MiB (holding the file: live +${holding.live_mib.toFixed(1)} MiB)`,
  );
});
