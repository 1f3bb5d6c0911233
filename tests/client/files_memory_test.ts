/**
 * Files keep memory flat end to end: a 128 MB file goes from alice's daemon through the relay to
 * bob's and back out of `GET /v1/files/{id}` (files_memory_probe.ts, a memory probe:
 * tests/memory.ts), and what stays live is bounded by the transfer windows, not by the file; the
 * same probe holding the file is caught by the bound.
 */
import { assert } from "../assert.ts";
import { runProbe } from "../memory.ts";

const PROBE = new URL("./files_memory_probe.ts", import.meta.url);

interface Peak {
  live_mb: number;
  rss_mb: number;
  seconds: number;
}

/** Checks a `mb` MB transfer stays under `bound` MB live, and that holding the file shows. */
async function flat(mb: number, bound: number) {
  const [plain, holding] = await Promise.all([
    runProbe<Peak>(PROBE, [String(mb)]),
    runProbe<Peak>(PROBE, [String(mb), "--hold"]),
  ]);
  assert(plain.live_mb < bound, `live memory grew by ${plain.live_mb.toFixed(0)} MB for ${mb} MB`);
  // The bound must catch a transfer that holds the file.
  assert(
    holding.live_mb > bound,
    `the bound misses a held file: +${holding.live_mb.toFixed(0)} MB`,
  );
  const mbs = (x: number) => x.toFixed(0);
  console.log(
    `FILES size=${mb}MB seconds=${plain.seconds.toFixed(1)} live_growth=${mbs(plain.live_mb)}MB ` +
      `rss_growth=${mbs(plain.rss_mb)}MB holding_live_growth=${mbs(holding.live_mb)}MB`,
  );
}

// Measured: +3 MB live for a 16 MB file, +20–21 MB for 128 to 512 MB (the chunks in flight in
// both daemons' windows, the relay's and the download's); holding the 128 MB file, +144–148 MB.
Deno.test("files: 128 MB end to end with memory flat (live memory after collection)", () =>
  flat(128, 96));

Deno.test({
  name: "files: 1 GB end to end with memory flat (TASKFERRY_SOAK=1)",
  ignore: Deno.env.get("TASKFERRY_SOAK") !== "1",
  fn: () => flat(1024, 96),
});
