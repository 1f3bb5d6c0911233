/**
 * A memory probe (tests/memory.ts), run by blob_test.ts: seals `<MiB>` MiB of a file in 1 MiB
 * chunks and opens them again, piped, sampling live memory after every chunk. `--hold` keeps
 * every sealed chunk. Prints one JSON line: `{"live_mib": …, "rss_mib": …}` (peak growth).
 */
import { newId, openBlobStream, randomBytes, sealBlobStream } from "../../lib/protocol/mod.ts";
import { PeakGrowth } from "../memory.ts";

const MIB = 1048576;
const size = Number(Deno.args[0] ?? "128") * MIB;
const hold = Deno.args.includes("--hold");
const key = randomBytes(32);
const blobId = newId("blob");
const piece = new Uint8Array(256 * 1024).map((_, i) => i * 7);
const held: Uint8Array[] = [];

/** Seals `total` bytes and opens them again, piped; returns the peak growth of memory. */
async function pipe(total: number) {
  async function* source() {
    for (let sent = 0; sent < total; sent += piece.length) yield piece;
  }
  async function* sealed() {
    for await (const c of sealBlobStream(source(), { key, blobId })) {
      if (hold) held.push(c.sealed);
      yield c.sealed;
    }
  }
  const growth = new PeakGrowth();
  let opened = 0;
  for await (const plain of openBlobStream(sealed(), { key, blobId, size: total })) {
    opened += plain.length;
    growth.sample();
  }
  if (opened !== total) throw new Error(`opened ${opened} of ${total} bytes`);
  return growth.peak;
}

await pipe(16 * MIB); // warm-up: JIT and the collector's first heap growth
held.length = 0;
const peak = await pipe(size);
console.log(JSON.stringify({ live_mib: peak.live / MIB, rss_mib: peak.rss / MIB }));
