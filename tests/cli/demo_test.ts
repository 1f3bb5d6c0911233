/**
 * The demo as a person meets it (issue 22): it cleans up its temporary data on exit and on
 * Ctrl-C (a real SIGINT to a real process), keeps a --home, prints no login links with --once,
 * shows late steps as mm:ss; its writer writes about what it was asked and its requester
 * follows only the task it created.
 */
import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "./cli_run.ts";
import { startWorld } from "../client/world.ts";
import { elapsed } from "../../lib/cli/demo.ts";
import { draft, runRequester, runWriter } from "../../lib/agents/mod.ts";

/** Starts `taskferry demo args…`; `until` waits for a text on stdout. */
function demo(...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", "demo", ...args],
    cwd: ROOT,
    env: { TASKFERRY_LOG_LEVEL: "warn", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const reading = child.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (out += s) }),
  );
  const errText = new Response(child.stderr).text();
  return {
    child,
    output: () => out,
    async until(text: string) {
      const deadline = Date.now() + 30_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`"${text}" not printed:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async done() {
      const status = await child.status;
      await reading;
      return { code: status.code, stdout: out, stderr: await errText };
    },
  };
}

const dataDir = (stdout: string) => /data in (\S+)/.exec(stdout)?.[1] ?? "";
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("demo: --once removes its temp data and prints no login links; --home is kept; Ctrl-C cleans up", async () => {
  const kept = await Deno.makeTempDir({ prefix: "tf-demo-home-" });
  try {
    const once = demo("--once");
    const withHome = demo("--once", "--home", kept);
    const live = demo();
    await live.until("Press Ctrl-C to stop.");
    assert(/alice dashboard: http:\/\/127\.0\.0\.1:\d+\/login\/\S+/.test(live.output()));
    live.child.kill("SIGINT");
    const [a, b, c] = await Promise.all([once.done(), withHome.done(), live.done()]);

    assertEquals(a.code, 0, a.stderr);
    assert(a.stdout.includes("flow complete"), a.stdout);
    assert(!a.stdout.includes("dashboard:"), `--once printed links that die with it:\n${a.stdout}`);
    const tmp = dataDir(a.stdout);
    assert(a.stdout.startsWith(`TaskFerry demo — data in ${tmp} (removed on exit)\n`), a.stdout);
    assert(a.stdout.endsWith(`\nremoved ${tmp}\n`), a.stdout);
    assertEquals(await exists(tmp), false, `${tmp} is left behind`);

    assertEquals(b.code, 0, b.stderr);
    assert(b.stdout.endsWith(`\ndata kept in ${kept}\n`), b.stdout);
    assert(await exists(`${kept}/relay.db`), "--home keeps the data");

    assertEquals(c.code, 0, c.stderr);
    const liveDir = dataDir(c.stdout);
    assert(
      c.stdout.endsWith(`\nCtrl-C: stopping the demo…\nremoved ${liveDir}\n`),
      `Ctrl-C is acknowledged, then cleaned up:\n${c.stdout}`,
    );
    assertEquals(await exists(liveDir), false, `${liveDir} is left behind after Ctrl-C`);
  } finally {
    await Deno.remove(kept, { recursive: true });
  }
});

Deno.test("demo: steps show milliseconds in the first minute, then mm:ss", () => {
  assertEquals(elapsed(267), "  267 ms");
  assertEquals(elapsed(59_999), "59999 ms");
  assertEquals(elapsed(65_000), "   01:05");
  assertEquals(elapsed(3_725_000), "   62:05");
});

Deno.test("demo writer: the draft is about what the task asks", () => {
  const v1 = draft("Terminal poem", "Four lines about blinking cursors. Keep it light.", 1);
  assert(v1.startsWith("# Terminal poem\n"), v1);
  assert(v1.includes("On blinking cursors:\nBlinking cursors at first light,"), v1);
  assert(!/ferr/i.test(v1), `a draft about cursors mentions ferries:\n${v1}`);
  const v2 = draft("Terminal poem", "About blinking cursors.", 2, "Mention the prompt.");
  assert(v2.includes('Revised for the feedback: "Mention the prompt."'), v2);
  assert(v2.includes("Draft v2"), v2);
  assertEquals(draft("Untitled", "Write something.", 1).includes("On Untitled:"), true);
});

Deno.test("demo requester: with a --peer it creates its own task, not an unrelated one", async () => {
  const w = await startWorld();
  const ac = new AbortController();
  try {
    const other = await w.alice.api.createTask({
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Someone else's task",
      instructions: "Not the demo's business.",
    });
    const writer = runWriter({
      api: w.bob.api,
      handle: "@bob/writer",
      signal: ac.signal,
      waitSeconds: 2,
    });
    const id = await runRequester({
      api: w.alice.api,
      handle: "@alice/requester",
      peer: "@bob/writer",
      once: true,
      waitSeconds: 2,
    });
    assert(id && id !== other.task.id, `the requester adopted ${id}`);
    const mine = await w.alice.api.task(id);
    assertEquals([mine.task.title, mine.task.state], ["A haiku about ferries", "completed"]);
    assert(mine.artifacts[1]!.content.includes("On a ferry carrying work across the water:"));
    // The unrelated task was worked by the writer (it accepts every task) but never revised
    // or completed by the requester.
    const theirs = await w.alice.api.task(other.task.id);
    assertEquals(theirs.task.revisions, 0);
    assert(theirs.task.state !== "completed", theirs.task.state);
    ac.abort();
    await writer;
  } finally {
    ac.abort();
    await w.close();
  }
});
