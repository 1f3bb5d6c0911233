/**
 * The blob test vectors (tests/vectors/blob_v1.json, docs/protocol.md §15): files sealed with a
 * key drawn from the documented seeded randomness, cut into chunks of a small test chunk size
 * (16 bytes, so a vector shows several chunks; protocol v1 uses 1 MiB, the construction is
 * otherwise the same). Built with lib/protocol only; tests/protocol/blob_noble_test.ts re-derives
 * every byte with @noble.
 */
import { encodeBase64Url } from "../../lib/protocol/base64url.ts";
import {
  blobChunkAad,
  blobChunkNonce,
  type FileRef,
  importBlobKey,
  sealBlobChunk,
  sha256,
} from "../../lib/protocol/mod.ts";
import { fixedUlid, seededRandom } from "./generate.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** The chunk size of the vectors (a test parameter; protocol v1 fixes 1 MiB). */
export const VECTOR_CHUNK_SIZE = 16;

/** One sealed chunk of a blob vector. */
export interface BlobChunkVector {
  index: number;
  final: boolean;
  /** Hex of the 12-byte nonce. */
  nonce: string;
  /** The AAD as text (the AAD bytes are its UTF-8). */
  aad: string;
  /** Hex of the chunk's plaintext. */
  plaintext: string;
  /** base64url of ciphertext ‖ tag, the bytes uploaded as this chunk. */
  sealed: string;
}

/** One blob vector as stored in blob_v1.json. */
export interface BlobVector {
  name: string;
  description: string;
  random_seed: string;
  chunk_size: number;
  blob_id: string;
  /** base64url of the 32-byte key: the first 32 bytes of the seeded stream. */
  key: string;
  /** The file's bytes as UTF-8 text. */
  plaintext: string;
  /** base64url of SHA-256(plaintext). */
  sha256: string;
  chunks: BlobChunkVector[];
  /** The descriptor an envelope carries in `files` for this blob. */
  file: FileRef;
}

interface BlobCase {
  name: string;
  description: string;
  ulid_random: string;
  plaintext: string;
  file_name: string;
  media_type: string;
}

const CASES: BlobCase[] = [
  {
    name: "blob-three-chunks",
    description: "40 bytes in chunks of 16: two full chunks and a final chunk of 8 bytes",
    ulid_random: "B1",
    plaintext: "TaskFerry blob vector, forty bytes long.",
    file_name: "notes.txt",
    media_type: "text/plain; charset=utf-8",
  },
  {
    name: "blob-exact-multiple",
    description: "32 bytes in chunks of 16: the final chunk is full (no empty chunk follows)",
    ulid_random: "B2",
    plaintext: "Grüße aus der Blobwelt ✓🚢",
    file_name: "grüße.md",
    media_type: "text/markdown",
  },
  {
    name: "blob-empty",
    description: "an empty file: one final chunk holding only the 16-byte tag",
    ulid_random: "B3",
    plaintext: "",
    file_name: "empty.txt",
    media_type: "application/octet-stream",
  },
];

async function blobVector(c: BlobCase): Promise<BlobVector> {
  const seed = `taskferry/1 test vector ${c.name}`;
  const random = await seededRandom(seed);
  const keyBytes = random(32);
  const key = await importBlobKey(keyBytes);
  const blobId = `blob_${fixedUlid("2026-11-21T20:10:00.000Z", c.ulid_random)}`;
  const bytes = encoder.encode(c.plaintext);
  const count = Math.max(1, Math.ceil(bytes.length / VECTOR_CHUNK_SIZE));
  const chunks: BlobChunkVector[] = [];
  for (let index = 0; index < count; index++) {
    const final = index === count - 1;
    const part = bytes.subarray(index * VECTOR_CHUNK_SIZE, (index + 1) * VECTOR_CHUNK_SIZE);
    chunks.push({
      index,
      final,
      nonce: hex(blobChunkNonce(index, final)),
      aad: decoder.decode(blobChunkAad(blobId, index, final)),
      plaintext: hex(part),
      sealed: encodeBase64Url(await sealBlobChunk(key, blobId, index, final, part)),
    });
  }
  const digest = encodeBase64Url(await sha256(bytes));
  return {
    name: c.name,
    description: c.description,
    random_seed: seed,
    chunk_size: VECTOR_CHUNK_SIZE,
    blob_id: blobId,
    key: encodeBase64Url(keyBytes),
    plaintext: c.plaintext,
    sha256: digest,
    chunks,
    file: {
      blob_id: blobId,
      name: c.file_name,
      size: bytes.length,
      media_type: c.media_type,
      sha256: digest,
      key: encodeBase64Url(keyBytes),
    },
  };
}

/** All blob vectors. */
export async function buildBlobVectors(): Promise<BlobVector[]> {
  const out = [];
  for (const c of CASES) out.push(await blobVector(c));
  return out;
}
