/**
 * The blob format (design §12, docs/protocol.md §15): a file sealed with its own fresh 32-byte
 * key as a sequence of AES-256-GCM chunks of a fixed plaintext size. Each chunk's nonce and
 * associated data bind the blob id, the chunk index and a final-chunk flag, so chunks cannot be
 * moved between blobs, reordered, dropped, duplicated or cut off after a chunk that was not the
 * last without the tag check failing. The key, name, size, media type and plaintext SHA-256 travel
 * in the envelope's encrypted payload (`files`, payloads.ts); the signed header lists the blob ids
 * (`blobs`, schemas.ts) for the relay.
 *
 * Memory stays flat: one chunk is sealed or opened at a time; the stream helpers hold at most
 * two. Chunks are sealed with WebCrypto, not primitives.ts's node:crypto: a 1 MiB chunk is worth
 * the hop to WebCrypto's threads, and the main thread hashes meanwhile. The incremental SHA-256
 * they need is passed in (e.g. `() => createHash("sha256")` from `node:crypto`).
 */
import { arrayBufferOf as buf, requireLength } from "./bytes.ts";
import { fail } from "./errors.ts";
import { isId } from "./ids.ts";

const encoder = new TextEncoder();

/** Plaintext bytes per chunk in protocol v1; only the last chunk may be shorter. */
export const BLOB_CHUNK_SIZE = 1_048_576;
/** The AES-GCM tag appended to every chunk: a sealed chunk is its plaintext plus 16 bytes. */
export const BLOB_TAG_SIZE = 16;
/** The largest file the format describes, 2^40 bytes (1 TiB); relays set lower limits. */
export const MAX_BLOB_SIZE = 2 ** 40;
/** Most files one envelope may carry (the header's `blobs` and the payload's `files`). */
export const MAX_FILES = 32;

/** The chunks a file of `size` bytes has: at least one (an empty file is one empty chunk). */
export function blobChunkCount(size: number, chunkSize = BLOB_CHUNK_SIZE): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/**
 * The 12-byte nonce of chunk `index`: uint64_be(index) ‖ 0x000000 ‖ (0x01 if final else 0x00).
 * The key is fresh per blob, so (index, final) never repeats under one key.
 */
export function blobChunkNonce(index: number, final: boolean): Uint8Array {
  checkIndex(index);
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(0, Math.floor(index / 2 ** 32));
  view.setUint32(4, index >>> 0);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

/** The associated data of a chunk: UTF-8 of `taskferry/1 blob-chunk\n<id>\n<index>\n<0|1>`. */
export function blobChunkAad(blobId: string, index: number, final: boolean): Uint8Array {
  checkIndex(index);
  if (!isId(blobId, "blob")) throw new TypeError(`not a blob id: ${blobId}`);
  return encoder.encode(`taskferry/1 blob-chunk\n${blobId}\n${index}\n${final ? 1 : 0}`);
}

function checkIndex(index: number) {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new TypeError(`chunk index must be a non-negative integer, got ${index}`);
  }
}

/** Imports a blob's 32-byte key for AES-256-GCM (import once per blob, not per chunk). */
export function importBlobKey(key: Uint8Array): Promise<CryptoKey> {
  requireLength(key, 32, "blob key");
  return crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt", "decrypt"]);
}

const gcmParams = (blobId: string, index: number, final: boolean) => ({
  name: "AES-GCM",
  iv: buf(blobChunkNonce(index, final)),
  additionalData: buf(blobChunkAad(blobId, index, final)),
});

/** Seals one chunk: AES-256-GCM(key, nonce(index, final), aad(id, index, final), plaintext). */
export async function sealBlobChunk(
  key: CryptoKey,
  blobId: string,
  index: number,
  final: boolean,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  const params = gcmParams(blobId, index, final);
  return new Uint8Array(await crypto.subtle.encrypt(params, key, plaintext as BufferSource));
}

/**
 * Opens one chunk; throws `blob_corrupt` when the tag does not verify, i.e. the bytes were
 * changed, or belong to another blob, another index, or the other final flag.
 */
export async function openBlobChunk(
  key: CryptoKey,
  blobId: string,
  index: number,
  final: boolean,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  const params = gcmParams(blobId, index, final);
  try {
    if (sealed.length < BLOB_TAG_SIZE) throw new RangeError("shorter than the tag");
    return new Uint8Array(await crypto.subtle.decrypt(params, key, sealed as BufferSource));
  } catch {
    throw fail("blob_corrupt", `${blobId} chunk ${index} failed authentication`);
  }
}

/** An incremental SHA-256 (e.g. `node:crypto`'s `createHash("sha256")`). */
export interface IncrementalHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}

/** Bytes as a stream: any async iterable of byte arrays (a `ReadableStream` is one). */
export type ByteSource = AsyncIterable<Uint8Array>;

/**
 * Cuts `source` into pieces of exactly `size` bytes (the last one shorter, possibly empty when
 * the source is), marking the last. A full piece is held back until the next byte shows it is
 * not the last, so at most two pieces are in memory.
 */
export async function* rechunk(
  source: ByteSource,
  size: number,
): AsyncGenerator<{ bytes: Uint8Array; final: boolean }> {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`bad chunk size ${size}`);
  let fill = new Uint8Array(size);
  let filled = 0;
  let ready: Uint8Array | null = null;
  for await (const piece of source) {
    let at = 0;
    while (at < piece.length) {
      if (ready) {
        yield { bytes: ready, final: false };
        ready = null;
      }
      const n = Math.min(size - filled, piece.length - at);
      fill.set(piece.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === size) {
        ready = fill;
        fill = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  // A held full piece is the last one unless bytes followed it; an empty source is one empty piece.
  if (ready) yield { bytes: ready, final: filled === 0 };
  if (!ready || filled > 0) yield { bytes: fill.subarray(0, filled), final: true };
}

/** A sealed chunk as {@link sealBlobStream} yields it. */
export interface SealedChunk {
  index: number;
  final: boolean;
  /** Ciphertext ‖ tag: what is uploaded as chunk `index`. */
  sealed: Uint8Array;
}

/** What a whole blob came to: its plaintext size, chunk count and SHA-256 (when hashed). */
export interface BlobSummary {
  size: number;
  chunks: number;
  sha256: Uint8Array | null;
}

/** Options of the stream helpers. */
export interface BlobStreamOptions {
  /** The blob's 32-byte key (raw) or the imported key. */
  key: Uint8Array | CryptoKey;
  blobId: string;
  /** Plaintext bytes per chunk; protocol v1 fixes 1 MiB, vectors use a small one. */
  chunkSize?: number;
  /** Makes the incremental SHA-256 of the plaintext; without it no hash is computed. */
  hash?: () => IncrementalHash;
}

const keyOf = (key: Uint8Array | CryptoKey) =>
  key instanceof Uint8Array ? importBlobKey(key) : Promise.resolve(key);

/**
 * Seals a plaintext byte stream chunk by chunk; returns (as the generator's return value) the
 * size, chunk count and, with `options.hash`, the SHA-256 for the file's descriptor.
 *
 * @example
 * ```ts
 * for await (const c of sealBlobStream(file.readable, { key, blobId })) await upload(c);
 * ```
 */
export async function* sealBlobStream(
  source: ByteSource,
  options: BlobStreamOptions,
): AsyncGenerator<SealedChunk, BlobSummary> {
  const key = await keyOf(options.key);
  const hash = options.hash?.() ?? null;
  let index = 0;
  let size = 0;
  for await (const { bytes, final } of rechunk(source, options.chunkSize ?? BLOB_CHUNK_SIZE)) {
    // WebCrypto encrypts off the main thread: hash while it runs.
    const sealing = sealBlobChunk(key, options.blobId, index, final, bytes);
    hash?.update(bytes);
    size += bytes.length;
    yield { index, final, sealed: await sealing };
    index++;
  }
  return { size, chunks: index, sha256: hash ? new Uint8Array(hash.digest()) : null };
}

/** Options of {@link openBlobStream}: what the file's descriptor promises. */
export interface OpenBlobOptions extends BlobStreamOptions {
  /** The descriptor's size; a different total is `blob_corrupt`. */
  size?: number;
  /** The descriptor's SHA-256; needs `hash`; a different digest is `blob_corrupt`. */
  sha256?: Uint8Array;
}

/**
 * Opens the concatenation of a blob's sealed chunks (in index order), yielding plaintext chunk
 * by chunk; returns the summary once the final chunk, the size and the hash have checked out.
 * Each yielded chunk is authentic, but the file is complete and correct only when the generator
 * returns: write to a temporary place and publish after. Throws `blob_corrupt` (a chunk fails
 * authentication, is moved, reordered, dropped or followed by more data; size or hash differ) or
 * `blob_truncated` (the stream ends after a chunk that was not sealed as the last).
 */
export async function* openBlobStream(
  source: ByteSource,
  options: OpenBlobOptions,
): AsyncGenerator<Uint8Array, BlobSummary> {
  if (options.sha256 && !options.hash) throw new TypeError("checking sha256 needs options.hash");
  const key = await keyOf(options.key);
  const sealedSize = (options.chunkSize ?? BLOB_CHUNK_SIZE) + BLOB_TAG_SIZE;
  const hash = options.hash?.() ?? null;
  const id = options.blobId;
  let index = 0;
  let size = 0;
  const open = async (bytes: Uint8Array, final: boolean, i: number) => {
    if (final && bytes.length === 0) throw fail("blob_truncated", `${id}: no chunks`);
    try {
      return await openBlobChunk(key, id, i, final, bytes);
    } catch (err) {
      // The stream ended on a chunk sealed as "more follows": cut off, not forged.
      if (final && bytes.length === sealedSize && await opensAsMore(key, id, i, bytes)) {
        throw fail("blob_truncated", `${id} ends after chunk ${i}, which is not the last`);
      }
      throw err;
    }
  };
  // WebCrypto decrypts off the main thread: chunk i+1 decrypts while chunk i is hashed.
  let previous: Promise<Uint8Array> | null = null;
  const take = async (opening: Promise<Uint8Array>) => {
    const plain = await opening;
    hash?.update(plain);
    size += plain.length;
    return plain;
  };
  for await (const { bytes, final } of rechunk(source, sealedSize)) {
    const opening = open(bytes, final, index++);
    opening.catch(() => {}); // awaited below; a failure of the one before is reported first
    if (previous) yield await take(previous);
    previous = opening;
  }
  if (previous) yield await take(previous);
  if (options.size !== undefined && size !== options.size) {
    throw fail("blob_corrupt", `${id} holds ${size} bytes, the descriptor says ${options.size}`);
  }
  const digest = hash ? new Uint8Array(hash.digest()) : null;
  if (options.sha256 && (!digest || !sameBytes(digest, options.sha256))) {
    throw fail("blob_corrupt", `${id}: the plaintext SHA-256 differs from the descriptor's`);
  }
  return { size, chunks: index, sha256: digest };
}

/** True when `bytes` is chunk `index` sealed as "more follows" (a cut-off stream). */
const opensAsMore = (key: CryptoKey, id: string, index: number, bytes: Uint8Array) =>
  openBlobChunk(key, id, index, false, bytes).then(() => true, () => false);

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Why `name` cannot be a file name, or null when it can. A name is one path component that is
 * safe to create anywhere: 1-255 UTF-16 code units of well-formed text, without `/` or `\`,
 * without `..`, not `.`, and without control characters (C0, DEL, C1).
 */
export function fileNameProblem(name: string): string | null {
  if (name.length < 1 || name.length > 255) return "a file name has 1-255 characters";
  if (!name.isWellFormed()) return "a file name must be well-formed Unicode";
  if (/[/\\]/.test(name)) return "a file name cannot contain / or \\";
  if (name === "." || name.includes("..")) return "a file name cannot be . or contain ..";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    return "a file name cannot contain control characters";
  }
  return null;
}

/** Throws `invalid_file_name` (with the reason) unless `name` is a safe file name. */
export function checkFileName(name: string): string {
  const problem = fileNameProblem(name);
  if (problem !== null) throw fail("invalid_file_name", `${JSON.stringify(name)}: ${problem}`);
  return name;
}
