/**
 * Files suite (design §12): end-to-end file transfer, alice's daemon → relay → bob's daemon on
 * loopback (all in this process), timed from `POST /v1/messages` with the file until bob's copy
 * is verified and ready, for a 1 MB and a 100 MB file (`--quick`: 1 MB and 20 MB) and, in a full
 * run, one 1 GB file, next to the two ceilings on this machine: raw AES-256-GCM sealing of 1 MiB
 * chunks and a plain file copy (of 1 GB too, for the 1 GB row). Notes give each transfer as a
 * share of both, and the process's RSS during the transfer (peak, and its growth).
 * @module
 */
import { join } from "node:path";
import { BLOB_CHUNK_SIZE, importBlobKey, newId, sealBlobChunk } from "../lib/protocol/mod.ts";
import type { MessageView } from "../lib/protocol/views.ts";
import { startWorld, type World } from "../tests/client/world.ts";
import type { BenchOptions, BenchRow } from "./main.ts";

const MB = 1_000_000;

async function writeFile(path: string, bytes: number) {
  const block = new Uint8Array(BLOB_CHUNK_SIZE).map((_, i) => (i * 31) & 0xff);
  using out = await Deno.open(path, { write: true, create: true, truncate: true });
  for (let at = 0; at < bytes; at += block.length) {
    const piece = block.subarray(0, Math.min(block.length, bytes - at));
    let w = 0;
    while (w < piece.length) w += await out.write(piece.subarray(w));
  }
}

/** Sends `path` from alice to bob and waits until bob's copy is ready. */
async function transfer(w: World, path: string) {
  const sent = await w.alice.api.send({
    from: "@alice/requester",
    to: "@bob/writer",
    files: [{ path }],
  });
  for (;;) {
    const ok = await w.bob.api.message(sent.message.id).then(
      (m: MessageView) => m.files?.[0]?.state === "ready",
      () => false,
    );
    if (ok) return;
    await w.bob.running.daemon.events.waitFor((e) => e.type === "file", 1000);
  }
}

/** RSS sampled every 20 ms while `fn` runs: `{ base, peak }` in bytes. */
async function sampled<T>(fn: () => Promise<T>): Promise<{ value: T; base: number; peak: number }> {
  const base = Deno.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
  try {
    const value = await fn();
    return { value, base, peak: Math.max(peak, Deno.memoryUsage().rss) };
  } finally {
    clearInterval(sampler);
  }
}

/** One timed run of `fn` as a row (a 1 GB case is too long for `measure`'s repeated runs). */
async function once(name: string, bytes: number, fn: () => Promise<unknown>): Promise<BenchRow> {
  const start = performance.now();
  await fn();
  const seconds = (performance.now() - start) / 1000;
  return { suite: "files", name, runs: 1, seconds, rate: 1 / seconds, bytes };
}

const MiB = 2 ** 20;
const share = (mbs: number, aesMBs: number, copyMBs: number) =>
  `${(mbs / aesMBs * 100).toFixed(1)}% of AES-GCM, ${
    (mbs / copyMBs * 100).toFixed(1)
  }% of a file copy`;

/** Runs the files suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-files-" });
  const world = await startWorld({ filesRoot: dir });
  try {
    const key = await importBlobKey(crypto.getRandomValues(new Uint8Array(32)));
    const chunk = new Uint8Array(BLOB_CHUNK_SIZE);
    const blobId = newId("blob");
    const aes = await opts.measure(
      "AES-256-GCM seal, 1 MiB chunk (ceiling)",
      () => sealBlobChunk(key, blobId, 0, false, chunk),
      { bytes: BLOB_CHUNK_SIZE },
    );
    rows.push(aes);
    const aesMBs = (aes.rate * BLOB_CHUNK_SIZE) / MB;

    const big = opts.quick ? 20 : 100;
    const copySrc = join(dir, "copy-src.bin");
    await writeFile(copySrc, big * MB);
    const copy = await opts.measure(
      `plain file copy, ${big} MB (ceiling)`,
      () => Deno.copyFile(copySrc, join(dir, "copy-dst.bin")),
      { bytes: big * MB },
    );
    rows.push(copy);
    const copyMBs = (copy.rate * big * MB) / MB;
    await Deno.remove(copySrc);

    for (const size of [1, big]) {
      const path = join(dir, `file-${size}.bin`);
      await writeFile(path, size * MB);
      const { value: row, base, peak } = await sampled(() =>
        opts.measure(
          `file end to end, ${size} MB (daemon → relay → daemon)`,
          () => transfer(world, path),
          { bytes: size * MB },
        )
      );
      const mbs = (row.rate * size * MB) / MB;
      row.note = `${share(mbs, aesMBs, copyMBs)}; peak RSS +${
        ((peak - base) / MiB).toFixed(0)
      } MiB`;
      rows.push(row);
    }

    if (!opts.quick) {
      // 1 GB once, next to a 1 GB copy measured now (the page cache treats both alike).
      const GB = 1000 * MB;
      const path = join(dir, "file-1000.bin");
      await writeFile(path, GB);
      const gbCopy = await once(
        "plain file copy, 1 GB (ceiling)",
        GB,
        () => Deno.copyFile(path, join(dir, "copy-1g.bin")),
      );
      rows.push(gbCopy);
      await Deno.remove(join(dir, "copy-1g.bin"));
      const { value: row, base, peak } = await sampled(() =>
        once("file end to end, 1 GB (daemon → relay → daemon)", GB, () => transfer(world, path))
      );
      row.note = `${share(GB / MB / row.seconds, aesMBs, GB / MB / gbCopy.seconds)}; ` +
        `RSS during the transfer: peak ${(peak / MiB).toFixed(0)} MiB ` +
        `(+${((peak - base) / MiB).toFixed(0)} MiB over ${(base / MiB).toFixed(0)} before)`;
      rows.push(row);
    }
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return rows;
}
