/**
 * A memory probe (tests/memory.ts), run by files_memory_test.ts: a relay and two daemons in this
 * process carry a `<MB>` MB file from alice's agent to bob's, and bob's daemon serves it back by
 * `GET /v1/files/{id}`; live memory is sampled every 200 ms. `--hold` reads the file into memory
 * first and keeps it, as a transfer that buffered the file would.
 * Prints one JSON line: `{"live_mb": …, "rss_mb": …, "seconds": …}` (peak growth, MB).
 */
import { fetchFile, markedFile, MB, sendFiles, settled, sha256Of } from "./files_helpers.ts";
import { PeakGrowth } from "../memory.ts";
import { startWorld } from "./world.ts";

const size = Number(Deno.args[0] ?? "64") * MB;
const hold = Deno.args.includes("--hold");

const dir = await Deno.makeTempDir({ prefix: "tf-files-memory-" });
const w = await startWorld({ filesRoot: dir });
try {
  // A first transfer: what any first transfer allocates once (compiled code, buffers, heap
  // growth) is then in the base, and the growth is what a transfer holds.
  const warm = await sendFiles(w, [await markedFile(dir, "warm.bin", 2 * MB)]);
  await settled(w.bob, warm);
  const path = await markedFile(dir, "big.bin", size);
  const want = await sha256Of((await Deno.open(path)).readable);
  const growth = new PeakGrowth();
  const held = hold ? await Deno.readFile(path) : null;
  const sampler = setInterval(() => growth.sample(), 200);
  const started = performance.now();
  const id = await sendFiles(w, [path]);
  const m = await settled(w.bob, id, 120_000);
  const file = m.files![0]!;
  if (file.state !== "ready") throw new Error(`the file is ${file.state}: ${file.error}`);
  const res = await fetchFile(w.bob, file.id);
  if ((await sha256Of(res.body!)) !== want) throw new Error("the file served back differs");
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  growth.sample();
  console.log(JSON.stringify({
    live_mb: growth.peak.live / MB,
    rss_mb: growth.peak.rss / MB,
    seconds,
    held: held?.length ?? 0,
  }));
} finally {
  await w.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
