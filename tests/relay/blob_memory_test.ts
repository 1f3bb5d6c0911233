/**
 * The blob routes keep memory flat: 64 MiB go up and down in 1 MiB chunks through sender, relay
 * and reader (blob_memory_probe.ts, in a process of its own) and what stays live after garbage
 * collection does not grow with the file. The same probe holding every sealed chunk, as a
 * regression that buffered the file would, shows the file: the measurement can fail.
 */
import { assert } from "../assert.ts";

const PROBE = new URL("./blob_memory_probe.ts", import.meta.url).pathname;
const LOCK = new URL("../deno.lock", import.meta.url).pathname;

/** Runs the probe on `mib` MiB; returns its peak growth of live memory and RSS, in MiB. */
async function probe(mib: number, hold: boolean): Promise<{ live_mib: number; rss_mib: number }> {
  const args = ["run", "-A", `--lock=${LOCK}`, "--v8-flags=--expose-gc", PROBE, String(mib)];
  const out = await new Deno.Command(Deno.execPath(), {
    args: hold ? [...args, "--hold"] : args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(out.success, `the probe failed:\n${text}\n${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text.split("\n").at(-1)!);
}

Deno.test("blob routes over a socket: 64 MiB up and down in 1 MiB chunks, memory flat", async () => {
  const [flat, holding] = await Promise.all([probe(64, false), probe(64, true)]);
  // Measured: +4.1–4.5 MiB live for 16 to 256 MiB files (the chunks in flight), +68 MiB when
  // holding 64 MiB of sealed chunks.
  const bound = 32;
  assert(flat.live_mib < bound, `live memory grew by ${flat.live_mib.toFixed(1)} MiB for 64 MiB`);
  // The bound must catch a transfer that holds the file.
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
