/**
 * The worker runtime claims offered tasks for its agent while it has room (design §13): one
 * candidate runs a worker with concurrency 1 and works two offers one after the other.
 */
import { assert, assertEquals } from "../assert.ts";
import { loopbackWorkerApi, presetFor, Worker } from "../../lib/worker/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { offer, REVIEWERS, startClaimsWorld, view } from "./claims_world.ts";
import { eventually } from "./world.ts";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

Deno.test("worker: claims offers while it has room, and works them", async () => {
  const w = await startClaimsWorld();
  const workdir = await Deno.makeTempDir({ prefix: "tf-claims-worker-" });
  const ac = new AbortController();
  let running: Promise<void> | undefined;
  try {
    const [c1] = w.candidates;
    const worker = new Worker(loopbackWorkerApi(c1!.api), {
      agent: REVIEWERS[0]!,
      base: ["sh", "-c", "echo reviewed"],
      preset: presetFor(undefined),
      extraArgs: [],
      workdir,
      concurrency: 1,
      graceMs: 1000,
      coalescer: { intervalMs: 20, maxChars: 4000 },
      log: quiet,
    });
    running = worker.run(ac.signal);
    const a = await offer(w.boss, REVIEWERS, "first", { claim: true });
    const b = await offer(w.boss, REVIEWERS, "second", { claim: true });
    for (const t of [a, b]) {
      const done = await eventually(async () => {
        const v = await view(w.boss, t.id);
        return v.state === "submitted" ? v : null;
      });
      assertEquals(done.worker, REVIEWERS[0]);
    }
    assertEquals(worker.peak, 1);
    // With room for one, the second offer was claimed only after the first was done.
    const at = async (id: string, type: string) =>
      Date.parse((await w.boss.api.task(id)).events.find((e) => e.type === type)!.at);
    assert(await at(b.id, "task_claim") >= await at(a.id, "artifact_submit"));
    for (const d of w.candidates.slice(1)) {
      for (const t of [a, b]) {
        await eventually(async () => (await view(d, t.id)).state === "withdrawn");
      }
    }
  } finally {
    ac.abort();
    await running?.catch(() => {});
    await w.close();
    await Deno.remove(workdir, { recursive: true }).catch(() => {});
  }
});
