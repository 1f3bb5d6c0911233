/**
 * A memory probe (tests/memory.ts), run by blob_memory_test.ts: moves `<MiB>` MiB up and down
 * through the relay's blob routes over a socket in 1 MiB chunks (sender, relay and reader in this
 * process) and samples live memory after every chunk. `--hold` keeps every sealed chunk.
 * Prints one JSON line: `{"live_mib": …, "rss_mib": …}` (peak growth over the warmed-up start).
 */
import { createHash } from "node:crypto";
import {
  BLOB_CHUNK_SIZE,
  newId,
  openBlobStream,
  randomBytes,
  sealBlobStream,
} from "../../lib/protocol/mod.ts";
import { BLOB_SIZE_HEADER } from "../../lib/relay/blobs/mod.ts";
import { PeakGrowth } from "../memory.ts";
import { auth, type Fetch, json, relayOn } from "./blob_world.ts";

const MIB = 1048576;
const size = Number(Deno.args[0] ?? "64") * MIB;
const hold = Deno.args.includes("--hold");

const dir = await Deno.makeTempDir({ prefix: "tf-blob-memory-" });
const relay = await relayOn(dir, undefined, {
  chunkSize: BLOB_CHUNK_SIZE,
  maxFileBytes: 4 * size,
  quotaBytes: 4 * size,
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, relay.app.fetch);
const f: Fetch = (path, init) => fetch(`http://127.0.0.1:${server.addr.port}${path}`, init);
const piece = new Uint8Array(256 * 1024).map((_, i) => i * 7);
const held: Uint8Array[] = [];

/** Seals, uploads, grants, downloads and opens `bytes`; returns the peak growth of memory. */
async function transfer(bytes: number) {
  const key = randomBytes(32);
  const blobId = newId("blob");
  const growth = new PeakGrowth();
  async function* source() {
    for (let sent = 0; sent < bytes; sent += piece.length) yield piece;
  }
  const sealing = sealBlobStream(source(), { key, blobId, hash: () => createHash("sha256") });
  let next = await sealing.next();
  for (; !next.done; next = await sealing.next()) {
    if (hold) held.push(next.value.sealed);
    const res = await f(`/v1/blobs/${blobId}/chunks/${next.value.index}`, {
      method: "PUT",
      headers: {
        ...auth("tok-alice"),
        "content-type": "application/octet-stream",
        [BLOB_SIZE_HEADER]: String(bytes),
      },
      body: next.value.sealed as Uint8Array<ArrayBuffer>,
    });
    await json(res, 201);
    growth.sample();
  }
  const sha256 = next.value.sha256!;
  await json(
    await f(`/v1/blobs/${blobId}/finalize`, { method: "POST", headers: auth("tok-alice") }),
    200,
  );
  await relay.blobs.grant("alice", [blobId], ["bob"]);
  async function* chunks() {
    for (let i = 0; i * BLOB_CHUNK_SIZE < bytes; i++) {
      const res = await f(`/v1/blobs/${blobId}/chunks/${i}`, { headers: auth("tok-bob") });
      yield new Uint8Array(await res.arrayBuffer());
    }
  }
  let opened = 0;
  const opening = openBlobStream(chunks(), {
    key,
    blobId,
    size: bytes,
    sha256,
    hash: () => createHash("sha256"),
  });
  for await (const plain of opening) {
    opened += plain.length;
    growth.sample();
  }
  if (opened !== bytes) throw new Error(`opened ${opened} of ${bytes} bytes`);
  return growth.peak;
}

try {
  await transfer(8 * MIB); // warm-up: JIT, pools, the first heap growth
  held.length = 0;
  const peak = await transfer(size);
  console.log(JSON.stringify({ live_mib: peak.live / MIB, rss_mib: peak.rss / MIB }));
} finally {
  await server.shutdown();
  await relay.store.close();
  await Deno.remove(dir, { recursive: true });
}
