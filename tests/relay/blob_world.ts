/**
 * Shared by the blob route tests: a relay's blob side over a real store, test files sealed by the
 * protocol code (with a plaintext marker), and a small HTTP client for the blob routes that opens
 * what it downloads exactly as a receiving daemon must.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Hono } from "hono";
import { assertEquals } from "../assert.ts";
import {
  type BlobSummary,
  fail,
  newId,
  openBlobStream,
  randomBytes,
  sealBlobStream,
} from "../../lib/protocol/mod.ts";
import {
  type Authorize,
  BLOB_SIZE_HEADER,
  type BlobLimits,
  blobRoutes,
  BlobService,
  type BlobStatus,
  type BlobStore,
  DiskBlobStore,
} from "../../lib/relay/blobs/mod.ts";

/** The chunk size these relays use (a test parameter; protocol v1 uses 1 MiB). */
export const CHUNK = 1024;
/** A marker all through every test file: it must never appear in what the relay stores. */
export const MARKER = "PLAINTEXT-MARKER-7f3a";
const TOKENS: Record<string, string> = { "tok-alice": "alice", "tok-bob": "bob", "tok-c": "carol" };
/** `app.request` or `fetch` against a base URL. */
export type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * A relay's blob side on `dir` (or on a given store): store, service, and the routes mounted with
 * one `app.route` line as relayApp will. `nextRequestDone()` resolves when the next request ends.
 */
export async function relayOn(
  dir: string | BlobStore,
  authorize?: Authorize,
  limits: Partial<BlobLimits> = {},
) {
  const store = typeof dir === "string" ? await DiskBlobStore.open(dir) : dir;
  const blobs = new BlobService(store, {
    chunkSize: CHUNK,
    maxFileBytes: 64 * CHUNK,
    quotaBytes: 80 * CHUNK,
    ...limits,
  });
  let putDone = Promise.withResolvers<void>();
  const app = new Hono();
  app.use("*", async (_c, next) => {
    try {
      await next();
    } finally {
      putDone.resolve();
      putDone = Promise.withResolvers<void>();
    }
  });
  app.route(
    "/",
    blobRoutes({
      blobs,
      authenticate: (token) =>
        token && TOKENS[token]
          ? Promise.resolve({ id: TOKENS[token]! })
          : Promise.reject(fail("unauthorized")),
      ...(authorize ? { authorize } : {}),
    }),
  );
  return { app, blobs, store, nextRequestDone: () => putDone.promise };
}

/** A file with the marker all through it, sealed into its chunks. */
export async function sealedFile(size: number) {
  const text = new TextEncoder().encode(`${MARKER} `.repeat(Math.ceil(size / 22)));
  const bytes = text.slice(0, size);
  const key = randomBytes(32);
  const blobId = newId("blob");
  const chunks: Uint8Array[] = [];
  const gen = sealBlobStream(
    (async function* () {
      yield bytes;
    })(),
    { key, blobId, chunkSize: CHUNK, hash: () => createHash("sha256") },
  );
  let next = await gen.next();
  for (; !next.done; next = await gen.next()) chunks.push(next.value.sealed);
  return { bytes, key, blobId, chunks, summary: next.value as BlobSummary };
}
/** A sealed test file. */
export type File = Awaited<ReturnType<typeof sealedFile>>;

/** Bearer headers for `token`. */
export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** PUTs chunk `index` of `file` as `token`. */
export function put(f: Fetch, token: string, file: File, index: number, size = file.bytes.length) {
  return f(`/v1/blobs/${file.blobId}/chunks/${index}`, {
    method: "PUT",
    headers: {
      ...auth(token),
      "content-type": "application/octet-stream",
      [BLOB_SIZE_HEADER]: String(size),
    },
    body: file.chunks[index]! as Uint8Array<ArrayBuffer>,
  });
}

/** The JSON body of `res`, asserting its status. */
export async function json<T>(res: Response, status: number): Promise<T> {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  return body as T;
}
/** The error code of `res`, asserting its status. */
export const code = async (res: Response, status: number) =>
  (await json<{ error: { code: string } }>(res, status)).error.code;

/** Uploads every chunk of `file` and finalizes it. */
export async function uploadAll(f: Fetch, file: File, token = "tok-alice") {
  for (let i = 0; i < file.chunks.length; i++) await json(await put(f, token, file, i), 201);
  return await json<BlobStatus>(
    await f(`/v1/blobs/${file.blobId}/finalize`, { method: "POST", headers: auth(token) }),
    200,
  );
}

/** Downloads every chunk as `token` and opens the blob against its descriptor. */
export async function download(f: Fetch, file: File, token = "tok-bob"): Promise<Uint8Array> {
  const status = await json<BlobStatus>(
    await f(`/v1/blobs/${file.blobId}`, { headers: auth(token) }),
    200,
  );
  async function* chunks() {
    for (let i = 0; i < status.chunks; i++) {
      const res = await f(`/v1/blobs/${file.blobId}/chunks/${i}`, { headers: auth(token) });
      if (res.status !== 200) throw new Error(`chunk ${i}: ${res.status} ${await res.text()}`);
      yield new Uint8Array(await res.arrayBuffer());
    }
  }
  const parts: Uint8Array[] = [];
  for await (
    const p of openBlobStream(chunks(), {
      key: file.key,
      blobId: file.blobId,
      chunkSize: CHUNK,
      size: file.bytes.length,
      sha256: file.summary.sha256!,
      hash: () => createHash("sha256"),
    })
  ) parts.push(p);
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

/** Every stored byte under `dir` as latin-1 text (to search for plaintext). */
export async function storedText(dir: string): Promise<string> {
  let out = "";
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else out += new TextDecoder("latin1").decode(await Deno.readFile(p));
    }
  };
  await walk(dir);
  return out;
}
