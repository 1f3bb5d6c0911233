/**
 * The worker with files (design §12) over the real loopback API: the task's input file is in the
 * run's working directory, and the files the run writes to TASKFERRY_OUTPUT_DIR arrive at the
 * requester as the artifact's files, byte for byte.
 */
import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { logger } from "../../lib/log.ts";
import { loopbackWorkerApi, presetFor, Worker } from "../../lib/worker/mod.ts";
import { eventually, startWorld } from "../client/world.ts";
import { tempDir } from "./helpers.ts";

Deno.test("worker files: input files in the working directory, output files go with the artifact", async () => {
  using dir = tempDir("tf-worker-files-");
  const world = await startWorld({ filesRoot: dir.path });
  const ac = new AbortController();
  const worker = new Worker(loopbackWorkerApi(world.bob.api), {
    agent: "@bob/writer",
    // Reads the input file from its cwd, writes two output files (one binary).
    base: [
      "sh",
      "-c",
      'tr a-z A-Z < in.txt > "$TASKFERRY_OUTPUT_DIR/out.txt"; ' +
      'printf "\\001\\002\\377" > "$TASKFERRY_OUTPUT_DIR/blob.bin"; echo done',
    ],
    preset: presetFor(undefined),
    extraArgs: [],
    workdir: join(dir.path, "work"),
    concurrency: 1,
    graceMs: 1000,
    log: logger("worker-test"),
  });
  const running = worker.run(ac.signal);
  try {
    const input = join(dir.path, "in.txt");
    await Deno.writeTextFile(input, "ferries\n");
    const { task } = await world.alice.api.createTask({
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Shout",
      instructions: "Upper-case in.txt",
      files: [{ path: input }],
    });
    const done = await eventually(async () => {
      const d = await world.alice.api.task(task.id);
      const files = d.artifacts[0]?.files;
      return files?.length === 2 && files.every((f) => f.state === "ready") ? d : null;
    }, 30_000);
    const art = done.artifacts[0]!;
    assertEquals(art.content, "done\n");
    assertEquals(art.files!.map((f) => f.name), ["blob.bin", "out.txt"]);
    const body = async (id: string) =>
      new Uint8Array(await (await world.alice.api.downloadFile(id)).arrayBuffer());
    assertEquals(new TextDecoder().decode(await body(art.files![1]!.id)), "FERRIES\n");
    assertEquals(await body(art.files![0]!.id), new Uint8Array([1, 2, 255]));
  } finally {
    ac.abort();
    await running;
    await world.close();
  }
});
