/**
 * Files suite (design §12): end-to-end file transfer, alice's daemon → relay → bob's daemon on
 * loopback (all in this process), timed from `POST /v1/messages` with the file until bob's copy
 * is verified and ready, for a 1 MB and a 100 MB file (`--quick`: 1 MB and 20 MB), next to the
 * two ceilings on this machine: raw AES-256-GCM sealing of 1 MiB chunks and a plain file copy.
 * Notes give each transfer as a share of both, and the process's peak RSS growth.
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
      const base = Deno.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
      const row = await opts.measure(
        `file end to end, ${size} MB (daemon → relay → daemon)`,
        () => transfer(world, path),
        { bytes: size * MB },
      );
      clearInterval(sampler);
      const mbs = (row.rate * size * MB) / MB;
      row.note = `${(mbs / aesMBs * 100).toFixed(1)}% of AES-GCM, ` +
        `${(mbs / copyMBs * 100).toFixed(1)}% of a file copy; ` +
        `peak RSS +${((peak - base) / 2 ** 20).toFixed(0)} MiB`;
      rows.push(row);
    }
  } finally {
    await world.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return rows;
}
