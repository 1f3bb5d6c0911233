/**
 * One behaviour suite for the relay's blob rules over both blob stores: chunk files with a
 * SQLite index (always) and a PostgreSQL chunk table (a throwaway server started here). Uploads
 * resume, refusals store nothing, only readers of an accepted envelope read, quotas hold under
 * a race, and the sweep (injected clock) removes what expired and what every reader fetched.
 */
import { join } from "node:path";
import { assert, assertCode, assertEquals } from "../assert.ts";
import { BLOB_TAG_SIZE, fail, newId } from "../../lib/protocol/mod.ts";
import {
  type BlobLimits,
  BlobService,
  type BlobStore,
  blobSweeper,
  DiskBlobStore,
  PgBlobStore,
} from "../../lib/relay/blobs/mod.ts";
import { postgresBin, startPostgres, type TestPostgres } from "./pg.ts";

type Factory = () => Promise<{ store: BlobStore; done: () => Promise<void>; dir?: string }>;

const CHUNK = 100;
const SEALED = CHUNK + BLOB_TAG_SIZE;
const HOUR = 3_600_000;
const LIMITS: Partial<BlobLimits> = {
  chunkSize: CHUNK,
  maxFileBytes: 1000,
  quotaBytes: 2 * (250 + 3 * BLOB_TAG_SIZE), // two blobs of 250 bytes (3 chunks)
  uploadTtlMs: 1 * HOUR,
  retentionMs: 24 * HOUR,
  graceMs: 2 * HOUR,
};

/** A body reader as the route passes it: the whole `bytes`, refusing more than `limit`. */
const body = (bytes: Uint8Array) => (limit: number) => {
  if (bytes.length > limit) return Promise.reject(fail("body_too_large"));
  return Promise.resolve(bytes);
};
const chunk = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

function suite(name: string, factory: Factory) {
  const test = (title: string, fn: (s: BlobService, clock: { t: number }) => Promise<void>) =>
    Deno.test(`${name} blobs: ${title}`, async () => {
      const { store, done } = await factory();
      const clock = { t: 1_000_000 };
      try {
        await fn(new BlobService(store, LIMITS, () => clock.t), clock);
      } finally {
        await done();
      }
    });

  /** Uploads a complete 250-byte blob (3 chunks) as `owner` and finalizes it. */
  async function upload(s: BlobService, owner = "alice", id = newId("blob")) {
    for (const [i, n] of [[0, SEALED], [1, SEALED], [2, 50 + BLOB_TAG_SIZE]] as const) {
      await s.putChunk(owner, id, 250, i, body(chunk(n, i + 1)));
    }
    await s.finalize(owner, id);
    return id;
  }

  test("upload resumes at the first missing chunk; re-sent chunks are no-ops", async (s) => {
    const id = newId("blob");
    assertEquals((await s.putChunk("alice", id, 250, 0, body(chunk(SEALED)))).stored, true);
    await s.putChunk("alice", id, 250, 2, body(chunk(50 + BLOB_TAG_SIZE)));
    const half = await s.status("alice", id);
    assertEquals([half.chunks, half.stored, half.next_missing, half.finalized], [
      3,
      [0, 2],
      1,
      false,
    ]);
    const err = await assertCode(() => s.finalize("alice", id), "blob_incomplete");
    assertEquals(err.details, { missing: [1] });
    assertEquals((await s.putChunk("alice", id, 250, 0, body(chunk(SEALED, 9)))).stored, false);
    await s.putChunk("alice", id, 250, 1, body(chunk(SEALED)));
    assertEquals((await s.finalize("alice", id)).finalized, true);
    assertEquals((await s.finalize("alice", id)).finalized, true); // idempotent
    assertEquals(await s.store.getChunk(id, 0), chunk(SEALED)); // the first bytes stayed
    await assertCode(() => s.putChunk("alice", id, 250, 1, body(chunk(SEALED))), "blob_finalized");
  });

  test("wrong writer, size, index or length: refused, nothing stored", async (s) => {
    const id = newId("blob");
    await s.putChunk("alice", id, 250, 0, body(chunk(SEALED)));
    const put = (client: string, size: number, index: number, n: number) =>
      s.putChunk(client, id, size, index, body(chunk(n)));
    await assertCode(() => put("mallory", 250, 1, SEALED), "blob_access_denied");
    await assertCode(() => put("alice", 251, 1, SEALED), "blob_chunk_invalid");
    await assertCode(() => put("alice", 250, 3, SEALED), "blob_chunk_invalid");
    await assertCode(() => put("alice", 250, 1, SEALED - 1), "blob_chunk_invalid");
    await assertCode(() => put("alice", 250, 2, SEALED), "blob_chunk_invalid");
    await assertCode(() => s.finalize("mallory", id), "blob_access_denied");
    await assertCode(() => s.status("mallory", id), "blob_access_denied");
    assertEquals(await s.store.chunkIndexes(id), [0]);
    await assertCode(() => s.status("alice", "blob_nope"), "blob_not_found");
  });

  test("too large and over quota: refused before any byte is stored", async (s) => {
    const big = newId("blob");
    await assertCode(
      () => s.putChunk("alice", big, 1001, 0, body(chunk(SEALED))),
      "blob_too_large",
    );
    assertEquals(await s.store.get(big), null);
    await upload(s);
    await upload(s);
    const third = newId("blob");
    await assertCode(() => s.putChunk("alice", third, 1, 0, body(chunk(17))), "quota_exceeded");
    assertEquals(await s.store.get(third), null);
    assertEquals(await s.usage("alice"), { blobs: 2, bytes: 2 * (250 + 3 * BLOB_TAG_SIZE) });
    // Another client has its own quota.
    await upload(s, "bob");
  });

  test("the quota holds when uploads race", async (s) => {
    await upload(s);
    // Each fits alone; together they do not: exactly one may be created.
    const ids = Array.from({ length: 4 }, () => newId("blob"));
    const results = await Promise.allSettled(
      ids.map((id) => s.putChunk("alice", id, 250, 0, body(chunk(SEALED)))),
    );
    assertEquals(results.filter((r) => r.status === "fulfilled").length, 1);
    assertEquals((await s.usage("alice")).blobs, 2);
  });

  test("only recipients of an accepted envelope naming the blob read it", async (s) => {
    const id = await upload(s);
    await assertCode(() => s.grant("mallory", [id], ["mallory"]), "blob_access_denied");
    await assertCode(() => s.grant("alice", [newId("blob")], ["bob"]), "blob_not_found");
    const open = newId("blob");
    await s.putChunk("alice", open, 250, 0, body(chunk(SEALED)));
    await assertCode(() => s.grant("alice", [id, open], ["bob"]), "blob_incomplete");
    assertEquals((await s.authorize("bob", id))?.code, "blob_access_denied"); // nothing granted
    await s.grant("alice", [id], ["bob", "carol"]);
    assertEquals(await s.authorize("bob", id), null);
    assertEquals((await s.authorize("mallory", id))?.code, "blob_access_denied");
    assertEquals((await s.authorize("alice", id))?.code, "blob_access_denied");
    assertEquals((await s.authorize("bob", "not-a-blob"))?.code, "blob_not_found");
    assertEquals((await s.status("bob", id)).stored, [0, 1, 2]);
    assertEquals(await s.readChunk("bob", id, 1), chunk(SEALED, 2));
    await assertCode(() => s.readChunk("bob", id, 3), "blob_chunk_invalid");
  });

  test("expiry: unfinished uploads, retention, and fetched by all plus grace", async (s, clock) => {
    const unfinished = newId("blob");
    await s.putChunk("alice", unfinished, 250, 0, body(chunk(SEALED)));
    const unreferenced = await upload(s);
    const shared = await upload(s, "bob");
    await s.grant("bob", [shared], ["alice", "carol"]);
    clock.t += LIMITS.uploadTtlMs! + 1;
    assertEquals(await s.sweep(), 2);
    assertEquals(await s.store.get(unfinished), null);
    assertEquals(await s.store.get(unreferenced), null);
    assertEquals(await s.usage("alice"), { blobs: 0, bytes: 0 });
    // One reader fetched (its last chunk): kept; both fetched: kept for the grace period only.
    await s.readChunk("alice", shared, 2);
    clock.t += LIMITS.graceMs! + 1;
    assertEquals(await s.sweep(), 0);
    await s.readChunk("carol", shared, 0);
    await s.readChunk("carol", shared, 2);
    clock.t += LIMITS.graceMs! - 10;
    assertEquals(await s.sweep(), 0);
    await s.readChunk("carol", shared, 1); // a resumed download within the grace period
    clock.t += 20;
    assertEquals(await s.sweep(), 1);
    assertEquals(await s.store.get(shared), null);
    assertEquals(await s.store.getChunk(shared, 0), null);
    // Retention alone: a granted blob nobody fetches goes when the retention ends.
    const kept = await upload(s, "bob");
    await s.grant("bob", [kept], ["alice"]);
    clock.t += LIMITS.retentionMs! - 1;
    assertEquals(await s.sweep(), 0);
    clock.t += 2;
    assertEquals(await s.sweep(), 1);
  });
}

suite("disk", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blobs-" });
  const store = await DiskBlobStore.open(dir);
  return {
    store,
    dir,
    done: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("disk blobs: chunks are files under the home; deleting removes them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blobs-" });
  const store = await DiskBlobStore.open(dir);
  try {
    const s = new BlobService(store, LIMITS);
    const id = newId("blob");
    await s.putChunk("alice", id, 10, 0, body(chunk(10 + BLOB_TAG_SIZE, 0x41)));
    const files = [...Deno.readDirSync(join(dir, "chunks", id))].map((e) => e.name);
    assertEquals(files, ["0"]); // no temporary file left behind
    assertEquals(Deno.statSync(join(dir, "chunks", id, "0")).mode! & 0o777, 0o600);
    await store.delete(id);
    assert(![...Deno.readDirSync(join(dir, "chunks"))].length);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("blob sweeper: removes expired blobs on its timer; stop waits for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blobs-" });
  const store = await DiskBlobStore.open(dir);
  const clock = { t: 1_000_000 };
  const s = new BlobService(store, LIMITS, () => clock.t);
  const removed = Promise.withResolvers<number>();
  const sweeper = blobSweeper(s, {
    intervalMs: 5,
    onSwept: (n) => n > 0 && removed.resolve(n),
  });
  try {
    const id = newId("blob");
    await s.putChunk("alice", id, 250, 0, body(chunk(SEALED)));
    sweeper.start();
    clock.t += LIMITS.uploadTtlMs! + 1;
    assertEquals(await removed.promise, 1);
    assertEquals(await store.get(id), null);
  } finally {
    await sweeper.stop();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// PostgreSQL: required in CI (where .ci/packages.sh installs it); elsewhere only if installed.
if (postgresBin() || Deno.env.get("CI") === "true") {
  let server: TestPostgres | null = null;
  let n = 0;
  suite("postgres", async () => {
    server ??= await startPostgres();
    const store = await PgBlobStore.open(await server.createDatabase(`blobs_${++n}_${Date.now()}`));
    return { store, done: () => store.close() };
  });
  Deno.test("postgres blobs: the test server stops", async () => {
    await server?.stop();
    server = null;
  });
} else {
  console.warn("blob store suite: PostgreSQL not installed here; the postgres half runs in CI");
}
