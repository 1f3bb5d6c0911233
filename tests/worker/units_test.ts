/** The worker's small parts: argv splitting, progress coalescing, artifact bounds, wake mode. */
import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { boundText, composeArtifact, readBounded } from "../../lib/worker/artifact.ts";
import { acquireWorkerLock } from "../../lib/worker/lock.ts";
import { ProgressCoalescer } from "../../lib/worker/progress.ts";
import { runWake } from "../../lib/worker/wake.ts";
import { splitWords } from "../../lib/worker/words.ts";
import { AGENT, FakeDaemon } from "./fake_api.ts";
import { readMaybe, recordingLogger, tempDir } from "./helpers.ts";

Deno.test("splitWords: quotes and backslashes like a shell, nothing else", () => {
  assertEquals(splitWords(`claude  -p --model 'opus 4' "a \\"b\\" c" d\\ e ''`), [
    "claude",
    "-p",
    "--model",
    "opus 4",
    'a "b" c',
    "d e",
    "",
  ]);
  assertEquals(splitWords("echo $HOME; rm -rf / | x"), [
    "echo",
    "$HOME;",
    "rm",
    "-rf",
    "/",
    "|",
    "x",
  ]);
  assertThrows(() => splitWords("sh -c 'unclosed"), SyntaxError);
});

Deno.test("ProgressCoalescer: a flood of lines becomes few bounded sends; push never waits", async () => {
  const sent: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const c = new ProgressCoalescer(async (text) => {
    sent.push(text);
    await gate; // a slow daemon: the first send hangs until released
  }, { intervalMs: 30, maxChars: 200 });
  const t0 = performance.now();
  for (let i = 0; i < 10_000; i++) c.push(`line ${i} ${"x".repeat(i % 50)}`);
  assert(performance.now() - t0 < 1000, "push blocked");
  const t1 = performance.now();
  while (sent.length === 0) { // the first send starts after the interval, then hangs
    assert(performance.now() - t1 < 2000, "nothing was sent");
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let i = 0; i < 100; i++) c.push(`late ${i}`);
  release();
  await c.close();
  assert(sent.length >= 1 && sent.length <= 3, `sends: ${sent.length}`);
  assert(sent.every((s) => s.length <= 200), "a send is over the bound");
  assert(sent[0]!.startsWith("[… "), sent[0]);
  assert(sent.at(-1)!.endsWith("late 99"), sent.at(-1));
});

Deno.test("boundText and composeArtifact: within the byte bound, never half a character", () => {
  const text = "é".repeat(1000); // 2 bytes each
  const cut = boundText(text, 501);
  assert(new TextEncoder().encode(cut).length <= 501);
  assert(!cut.includes("\uFFFD") && cut.includes("cut at 501 bytes of 2000"), cut);
  assertEquals(composeArtifact("out\n", []), "out\n");
  using dir = tempDir("tf-big-");
  const big = join(dir.path, "big.txt");
  Deno.writeTextFileSync(big, "a".repeat(3_000_000));
  const head = readBounded(big, 1000);
  assert(head.length <= 1000 && head.startsWith("aaa") && head.includes("of 3000000"), head);
  assertEquals(readBounded(big, 3_000_000).length, 3_000_000);
  assertEquals(
    composeArtifact("out", [{ name: "a.md", text: "A" }]),
    "out\n\n--- file: a.md ---\nA\n",
  );
});

Deno.test("wake: one run per debounced batch of inbox items, with ids only in the environment", async () => {
  const fake = new FakeDaemon();
  using dir = tempDir("tf-wake-");
  const workdir = dir.path;
  const ac = new AbortController();
  const runs: string[][] = [];
  const done = runWake({
    api: fake,
    agent: AGENT,
    command: ["sh", "-c", `env | grep '^TASKFERRY_' | sort > "wake-$TASKFERRY_INBOX_NEXT.env"`],
    debounceMs: 150,
    graceMs: 500,
    workdir,
    log: recordingLogger(),
    signal: ac.signal,
    onRun: (ids) => runs.push(ids),
  });
  const ids = [
    fake.addTask({ title: "Secret A" }),
    fake.addTask({ title: "Secret B" }),
    fake.addTask({ title: "Secret C" }),
  ];
  await fake.until("one run", () => runs.length === 1);
  assertEquals(runs[0], ["msg_1", "msg_2", "msg_3"]);
  const env = Deno.readTextFileSync(join(workdir, "wake-3.env"));
  assert(env.includes("TASKFERRY_WAKE_IDS=msg_1,msg_2,msg_3\n"), env);
  assert(env.includes(`TASKFERRY_WAKE_TASK_IDS=${ids.join(",")}\n`), env);
  assert(env.includes("TASKFERRY_INBOX_AFTER=0\n") && !/secret/i.test(env), env);
  fake.cancel(ids[0]!);
  await fake.until("a second run", () => runs.length === 2);
  assertEquals(runs[1], ["msg_4"]);
  ac.abort();
  await done;
});

Deno.test("worker lock: one worker per agent; a lock left by a dead worker is taken over", async () => {
  using dir = tempDir("tf-lock-");
  const path = join(dir.path, "bob_writer.lock");
  const held = acquireWorkerLock(path);
  assert(!("heldBy" in held));
  // A live process holds it: refused, naming the pid.
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  held.release();
  Deno.writeTextFileSync(path, `${other.pid}\n`);
  assertEquals(acquireWorkerLock(path), { heldBy: other.pid });
  other.kill("SIGKILL");
  await other.status;
  // Its holder died: taken over.
  const again = acquireWorkerLock(path);
  assert(!("heldBy" in again));
  assertEquals(Deno.readTextFileSync(path), `${Deno.pid}\n`);
  again.release();
  assertEquals(readMaybe(path), null);
});
