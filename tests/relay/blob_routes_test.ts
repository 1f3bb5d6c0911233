/**
 * The relay's blob routes (lib/relay/blobs/routes.ts), mounted with one `app.route` line as the
 * relay will, driven in process (`app.request`) and over a real socket: a file sealed by the
 * protocol code goes up chunk by chunk and comes down byte-identical to the one reader granted;
 * a third client, the uploader and strangers cannot download; size and quota refusals store
 * nothing; an upload cut off mid-chunk resumes after a relay restart; the stored files hold no
 * plaintext; a byte flipped on disk is caught when the reader opens the blob; on PostgreSQL a
 * blob uploaded through one relay node downloads through another.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Hono } from "hono";
import { assert, assertCode, assertEquals } from "../assert.ts";
import {
  type BlobSummary,
  fail,
  newId,
  openBlobStream,
  randomBytes,
  sealBlobStream,
} from "../../lib/protocol/mod.ts";
import {
  BLOB_SIZE_HEADER,
  blobRoutes,
  BlobService,
  type BlobStatus,
  type BlobStore,
  DiskBlobStore,
  PgBlobStore,
} from "../../lib/relay/blobs/mod.ts";
import { postgresBin, startPostgres } from "./pg.ts";

const CHUNK = 1024;
const MARKER = "PLAINTEXT-MARKER-7f3a";
const TOKENS: Record<string, string> = { "tok-alice": "alice", "tok-bob": "bob", "tok-c": "carol" };
type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

/** A relay's blob side on `dir` (or a store): store, service, and the routes mounted as relayApp will. */
async function relayOn(dir: string | BlobStore) {
  const store = typeof dir === "string" ? await DiskBlobStore.open(dir) : dir;
  const blobs = new BlobService(store, {
    chunkSize: CHUNK,
    maxFileBytes: 64 * CHUNK,
    quotaBytes: 80 * CHUNK,
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
    }),
  );
  return { app, blobs, store, nextRequestDone: () => putDone.promise };
}

/** A file with the marker all through it, sealed into its chunks. */
async function sealedFile(size: number) {
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
type File = Awaited<ReturnType<typeof sealedFile>>;

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function put(f: Fetch, token: string, file: File, index: number, size = file.bytes.length) {
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

async function json<T>(res: Response, status: number): Promise<T> {
  const body = await res.json();
  assertEquals(res.status, status, JSON.stringify(body));
  return body as T;
}
const code = async (res: Response, status: number) =>
  (await json<{ error: { code: string } }>(res, status)).error.code;

async function uploadAll(f: Fetch, file: File, token = "tok-alice") {
  for (let i = 0; i < file.chunks.length; i++) await json(await put(f, token, file, i), 201);
  return await json<BlobStatus>(
    await f(`/v1/blobs/${file.blobId}/finalize`, { method: "POST", headers: auth(token) }),
    200,
  );
}

/** Downloads every chunk as `token` and opens the blob against its descriptor. */
async function download(f: Fetch, file: File, token = "tok-bob"): Promise<Uint8Array> {
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
async function storedText(dir: string): Promise<string> {
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

Deno.test("blob routes in process: only the granted reader downloads, byte-identical", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blob-routes-" });
  const relay = await relayOn(dir);
  const f: Fetch = async (path, init) => await relay.app.request(path, init);
  try {
    const file = await sealedFile(5 * CHUNK + 7);
    assertEquals(file.chunks.length, 6);
    const done = await uploadAll(f, file);
    assertEquals([done.finalized, done.stored.length, done.next_missing], [true, 6, null]);
    const chunk0 = `/v1/blobs/${file.blobId}/chunks/0`;
    // Before any envelope names it, nobody reads; the uploader never reads chunks.
    assertEquals(
      await code(await f(chunk0, { headers: auth("tok-bob") }), 403),
      "blob_access_denied",
    );
    await relay.blobs.grant("alice", [file.blobId], ["bob"]);
    assertEquals(await download(f, file), file.bytes);
    for (const token of ["tok-c", "tok-alice"]) {
      assertEquals(
        await code(await f(chunk0, { headers: auth(token) }), 403),
        "blob_access_denied",
      );
    }
    assertEquals(
      await code(await f(`/v1/blobs/${file.blobId}`, { headers: auth("tok-c") }), 403),
      "blob_access_denied",
    );
    assertEquals(await code(await f(chunk0), 401), "unauthorized");
    assertEquals(await code(await f(`${chunk0}?token=tok-bob`), 400), "bad_request");
    const text = await f(`/v1/blobs/${newId("blob")}/chunks/0`, {
      method: "PUT",
      headers: { ...auth("tok-alice"), "content-type": "text/plain", [BLOB_SIZE_HEADER]: "3" },
      body: "abc",
    });
    assertEquals(await code(text, 415), "unsupported_media_type");
    assertEquals(await code(await put(f, "tok-c", file, 0), 403), "blob_access_denied");
    // The relay's files hold ciphertext only.
    const stored = await storedText(dir);
    assert(stored.length > 6 * CHUNK);
    assert(!stored.includes(MARKER) && !stored.includes("MARKER"));
  } finally {
    await relay.store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("blob routes over a socket: size, quota, resume after restart, tampering", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blob-routes-" });
  let relay = await relayOn(dir);
  let server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, relay.app.fetch);
  const f: Fetch = (path, init) => fetch(`http://127.0.0.1:${server.addr.port}${path}`, init);
  try {
    // Too large: refused from the declared size, before the body; nothing stored.
    const big = await sealedFile(2 * CHUNK);
    assertEquals(await code(await put(f, "tok-alice", big, 0, 65 * CHUNK), 413), "blob_too_large");
    assertEquals(
      await code(await f(`/v1/blobs/${big.blobId}`, { headers: auth("tok-alice") }), 404),
      "blob_not_found",
    );
    // Quota: 80 KiB sealed; a 50 KiB file fits once, not twice.
    const first = await sealedFile(50 * CHUNK);
    await uploadAll(f, first);
    const second = await sealedFile(50 * CHUNK);
    assertEquals(await code(await put(f, "tok-alice", second, 0), 403), "quota_exceeded");
    assertEquals(await relay.blobs.usage("alice"), { blobs: 1, bytes: 50 * CHUNK + 50 * 16 });

    // An upload cut off in the middle of chunk 2: chunks 0-1 are stored, chunk 2 is not.
    const file = await sealedFile(5 * CHUNK + 300);
    for (const i of [0, 1]) await json(await put(f, "tok-alice", file, i), 201);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const head = `PUT /v1/blobs/${file.blobId}/chunks/2 HTTP/1.1\r\nhost: relay\r\n` +
      `authorization: Bearer tok-alice\r\ncontent-type: application/octet-stream\r\n` +
      `${BLOB_SIZE_HEADER}: ${file.bytes.length}\r\ncontent-length: ${CHUNK + 16}\r\n\r\n`;
    const cut = relay.nextRequestDone();
    await conn.write(new TextEncoder().encode(head));
    await conn.write(file.chunks[2]!.subarray(0, 500));
    conn.close();
    await cut;
    // The relay restarts on the same home; the uploader resumes from the first missing chunk.
    await server.shutdown();
    await relay.store.close();
    relay = await relayOn(dir);
    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, relay.app.fetch);
    const status = await json<BlobStatus>(
      await f(`/v1/blobs/${file.blobId}`, { headers: auth("tok-alice") }),
      200,
    );
    assertEquals([status.stored, status.next_missing, status.finalized], [[0, 1], 2, false]);
    for (let i = status.next_missing!; i < file.chunks.length; i++) {
      await json(await put(f, "tok-alice", file, i), 201);
    }
    await json(
      await f(`/v1/blobs/${file.blobId}/finalize`, { method: "POST", headers: auth("tok-alice") }),
      200,
    );
    await relay.blobs.grant("alice", [file.blobId], ["bob"]);
    assertEquals(await download(f, file), file.bytes);

    // One byte flipped in a stored chunk file: the reader's open fails, nothing is accepted.
    const path = join(dir, "chunks", file.blobId, "3");
    const stored = await Deno.readFile(path);
    stored[100]! ^= 0x20;
    await Deno.writeFile(path, stored);
    await assertCode(() => download(f, file), "blob_corrupt");
  } finally {
    await server.shutdown();
    await relay.store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "blob routes on PostgreSQL: uploaded through one node, downloaded through another",
  ignore: !postgresBin() && Deno.env.get("CI") !== "true",
  fn: async () => {
    const pg = await startPostgres();
    const url = await pg.createDatabase("blob_nodes");
    const nodes = [
      await relayOn(await PgBlobStore.open(url)),
      await relayOn(await PgBlobStore.open(url)),
    ];
    const servers = nodes.map((n) =>
      Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, n.app.fetch)
    );
    const via = (i: number): Fetch => (path, init) =>
      fetch(`http://127.0.0.1:${servers[i]!.addr.port}${path}`, init);
    try {
      const file = await sealedFile(3 * CHUNK + 1);
      await uploadAll(via(0), file);
      await nodes[0]!.blobs.grant("alice", [file.blobId], ["bob"]);
      assertEquals(await download(via(1), file), file.bytes);
      assertEquals(
        await code(
          await via(1)(`/v1/blobs/${file.blobId}/chunks/0`, { headers: auth("tok-c") }),
          403,
        ),
        "blob_access_denied",
      );
    } finally {
      for (const s of servers) await s.shutdown();
      for (const n of nodes) await n.store.close();
      await pg.stop();
    }
  },
});
