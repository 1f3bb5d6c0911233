/**
 * WAL checkpoints off the relay's event loop (lib/store/checkpoint.ts): the relay's connection
 * never checkpoints on commit, a Worker with its own connection does, and past the size limit
 * the writer checkpoints once inline so the WAL starts over instead of growing.
 */
import { assert, assertEquals } from "../assert.ts";
import { join } from "node:path";
import { openSqliteRelayStore } from "../../lib/relay/mod.ts";

const NEVER = { everyCommits: 1e9, intervalMs: 3_600_000, inlineAboveBytes: 1e12 };

async function withDb(fn: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "tf-ckpt-" });
  try {
    await fn(join(dir, "relay.db"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `n` commits of ~4 KB rows each. */
async function write(store: ReturnType<typeof openSqliteRelayStore>, n: number, from = 0) {
  for (let i = from; i < from + n; i++) {
    await store.addClient(`c${i}`, "x".repeat(4000) + i, i);
    // Turns of the event loop, as a relay has them: the worker's reports come in between.
    if (i % 16 === 0) await new Promise((r) => setTimeout(r, 0));
  }
}

const walBytes = (path: string) => Deno.statSync(`${path}-wal`).size;

Deno.test("checkpoint: the relay's connection does not checkpoint on commit", async () => {
  await withDb(async (path) => {
    // No worker requests: with SQLite's automatic checkpoint the WAL would stay near 4 MB.
    const store = openSqliteRelayStore(path, { checkpoint: NEVER });
    await write(store, 2000);
    assert(walBytes(path) > 8 * 1024 * 1024, `WAL ${walBytes(path)} bytes`);
    // The worker's checkpoint copies all of it (nobody else writes meanwhile).
    const report = await store.checkpointer!.checkpoint();
    assert(report.type === "checkpointed", JSON.stringify(report));
    assert(report.log > 2000, `log ${report.log}`);
    assertEquals(report.done, report.log);
    await store.close();
    const again = openSqliteRelayStore(path, { checkpoint: false });
    assertEquals((await again.listClients()).length, 2000);
    await again.close();
  });
});

Deno.test("checkpoint: the worker checkpoints every few commits; the WAL stays bounded", async () => {
  await withDb(async (path) => {
    const limit = 512 * 1024;
    const store = openSqliteRelayStore(path, {
      checkpoint: { everyCommits: 8, intervalMs: 3_600_000, inlineAboveBytes: limit },
    });
    await write(store, 1500);
    const stats = store.checkpointer!.stats;
    assert(stats.worker >= 10, JSON.stringify(stats));
    // Written: ~6 MB; the WAL is restarted (and cut to the limit) instead of growing to it.
    assert(
      walBytes(path) < 4 * 1024 * 1024,
      `WAL ${walBytes(path)} bytes, ${JSON.stringify(stats)}`,
    );
    await store.close();
    const again = openSqliteRelayStore(path, { checkpoint: false });
    assertEquals((await again.listClients()).length, 1500);
    await again.close();
  });
});

Deno.test("checkpoint: past the size limit the writer checkpoints inline", async () => {
  await withDb(async (path) => {
    const store = openSqliteRelayStore(path, {
      checkpoint: { everyCommits: 1e9, intervalMs: 3_600_000, inlineAboveBytes: 256 * 1024 },
    });
    await write(store, 200);
    // The worker's report shows a WAL over the limit: the writer checkpoints at once.
    await store.checkpointer!.checkpoint();
    assertEquals(store.checkpointer!.stats.inline, 1);
    await write(store, 10, 200);
    // The next write started the WAL over: its log is small again.
    const report = await store.checkpointer!.checkpoint();
    assert(report.type === "checkpointed" && report.log < 200, JSON.stringify(report));
    await store.close();
  });
});
