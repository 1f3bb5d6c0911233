/**
 * Run by files_memory_test.ts in a process of its own, with `--v8-flags=--expose-gc`: a relay and
 * two daemons in this process carry a `<MB>` MB file from alice's agent to bob's, and bob's
 * daemon serves it back by `GET /v1/files/{id}`. Every 200 ms it collects garbage and samples what
 * is still live (V8 heap plus external buffers): what the code holds, not garbage the collector
 * has not reached yet (that moved RSS by 90–140 MB for a 20 MB file), and no other test module's
 * memory. `--hold` reads the file into memory first and keeps it, as a transfer that buffered the
 * file would: the test's proof that the probe sees one.
 * Prints one JSON line: `{"live_mb": …, "rss_mb": …, "seconds": …}` (peak growth, MB).
 */
import { fetchFile, markedFile, MB, sendFiles, settled, sha256Of } from "./files_helpers.ts";
import { startWorld } from "./world.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const size = Number(Deno.args[0] ?? "64") * MB;
const hold = Deno.args.includes("--hold");

function live() {
  // Twice: a collection finishes the previous one's concurrent sweeping, whose freed buffers
  // would otherwise still count (20–25 MB here, more when the machine is loaded).
  gc!();
  gc!();
  const m = Deno.memoryUsage();
  return { live: m.heapUsed + m.external, rss: m.rss };
}

const dir = await Deno.makeTempDir({ prefix: "tf-files-memory-" });
const w = await startWorld({ filesRoot: dir });
try {
  // A first transfer: what any first transfer allocates once (compiled code, buffers, heap
  // growth) is then in the base, and the growth is what a transfer holds.
  const warm = await sendFiles(w, [await markedFile(dir, "warm.bin", 2 * MB)]);
  await settled(w.bob, warm);
  const path = await markedFile(dir, "big.bin", size);
  const want = await sha256Of((await Deno.open(path)).readable);
  const start = live();
  const held = hold ? await Deno.readFile(path) : null;
  const peak = { live: 0, rss: 0 };
  const sample = () => {
    const now = live();
    peak.live = Math.max(peak.live, now.live - start.live);
    peak.rss = Math.max(peak.rss, now.rss - start.rss);
  };
  const sampler = setInterval(sample, 200);
  const started = performance.now();
  const id = await sendFiles(w, [path]);
  const m = await settled(w.bob, id, 120_000);
  const file = m.files![0]!;
  if (file.state !== "ready") throw new Error(`the file is ${file.state}: ${file.error}`);
  const res = await fetchFile(w.bob, file.id);
  if ((await sha256Of(res.body!)) !== want) throw new Error("the file served back differs");
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  sample();
  console.log(JSON.stringify({
    live_mb: peak.live / MB,
    rss_mb: peak.rss / MB,
    seconds,
    held: held?.length ?? 0,
  }));
} finally {
  await w.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
