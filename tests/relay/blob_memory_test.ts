/**
 * The blob routes keep memory flat: 64 MiB go up and down in 1 MiB chunks through sender, relay
 * and reader (blob_memory_probe.ts, a memory probe: tests/memory.ts) and what stays live does not
 * grow with the file; the same probe holding every sealed chunk is caught by the bound.
 */
import { assert } from "../assert.ts";
import { runProbe } from "../memory.ts";

interface Peak {
  live_mib: number;
  rss_mib: number;
}

const PROBE = new URL("./blob_memory_probe.ts", import.meta.url);

Deno.test("blob routes over a socket: 64 MiB up and down in 1 MiB chunks, memory flat", async () => {
  const [flat, holding] = await Promise.all([
    runProbe<Peak>(PROBE, ["64"]),
    runProbe<Peak>(PROBE, ["64", "--hold"]),
  ]);
  // Measured: +4.1–4.5 MiB live for 16 to 256 MiB files (the chunks in flight), +68 MiB when
  // holding 64 MiB of sealed chunks.
  const bound = 32;
  assert(flat.live_mib < bound, `live memory grew by ${flat.live_mib.toFixed(1)} MiB for 64 MiB`);
  assert(
    holding.live_mib > bound,
    `the bound misses a held file: +${holding.live_mib.toFixed(1)} MiB`,
  );
  console.log(
    `64 MiB through the blob routes: live +${flat.live_mib.toFixed(1)} MiB, RSS +${
      flat.rss_mib.toFixed(1)
    } MiB (holding the file: live +${holding.live_mib.toFixed(1)} MiB)`,
  );
});
