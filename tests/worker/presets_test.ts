/**
 * The `claude` and `codex` presets driven end to end through the worker with fake CLIs
 * (tests/worker/fakes/) that print the real output formats:
 *
 * - Claude Code headless, `claude -p --output-format stream-json --verbose`: one JSON object per
 *   line — `system`/`init` with `session_id`, `assistant` messages (`message.content[]` of `text`
 *   and `tool_use`), `user` tool results, and a final `result` with `subtype`, `is_error`,
 *   `result` and `session_id`; `--resume <session_id>` continues a session.
 *   https://docs.anthropic.com/en/docs/claude-code/sdk/sdk-headless
 * - Codex, `codex exec --json`: JSONL `thread.started` (`thread_id`), `turn.started`,
 *   `item.started|updated|completed` (items `agent_message` with `text`, `reasoning`,
 *   `command_execution`, …), `turn.completed`, `turn.failed`, `error`;
 *   `codex exec resume <SESSION_ID>` continues a thread.
 *   https://raw.githubusercontent.com/openai/codex/main/codex-rs/exec/src/exec_events.rs
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { TaskJournal } from "../../lib/worker/journal.ts";
import { CLAUDE_PRESET, CODEX_PRESET } from "../../lib/worker/presets.ts";
import { taskDirs } from "../../lib/worker/round.ts";
import { startWorker } from "./helpers.ts";

const fake = (name: string) => [
  Deno.execPath(),
  "run",
  "-A",
  "--no-config",
  new URL(`./fakes/${name}.ts`, import.meta.url).pathname,
];
const argvOf = (dir: string, revision: number) =>
  JSON.parse(Deno.readTextFileSync(join(dir, `argv-${revision}.json`))) as string[];

Deno.test("preset claude: stream-json → progress and artifact; a revision resumes the session", async () => {
  await using w = startWorker({
    base: fake("claude"),
    preset: "claude",
    extraArgs: ["--permission-mode", "acceptEdits"],
  });
  const id = w.fake.addTask({ title: "Ferry haiku" });
  await w.fake.until("v1", () => w.fake.state(id) === "submitted");
  const v1 = w.fake.artifacts(id)[0]!;
  const session = /Answer from session ([0-9a-f-]{36})\.$/.exec(v1.content)?.[1];
  assert(session && v1.content.startsWith("# Ferry haiku\n"), v1.content);
  assertEquals(v1.content_type, "text/markdown");
  const progress = w.fake.progressLog.map((p) => p.input.text).join("\n");
  for (
    const line of ["Reading the task.", '[tool] Bash {"command":"ls -la"}', "Writing the answer."]
  ) {
    assert(progress.includes(line), `missing progress ${line}:\n${progress}`);
  }
  assert(!progress.includes('"type"'), "raw JSON events leaked into progress");
  const dir = join(w.workdir, id);
  assertEquals(argvOf(dir, 0), [
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "acceptEdits",
  ]);
  assertEquals(TaskJournal.load(taskDirs(w.workdir, id, 0).state, id).data.session_id, session);

  w.fake.requestRevision(id, "Shorter, please.");
  await w.fake.until("v2", () => w.fake.artifacts(id).length === 2);
  assertEquals(argvOf(dir, 1).slice(-2), ["--resume", session]);
  assert(w.fake.artifacts(id)[1]!.content.endsWith(`session ${session} (resumed).`));
});

Deno.test("preset claude: an error result fails the task with what Claude reported", async () => {
  await using w = startWorker({ base: fake("claude"), preset: "claude" });
  const id = w.fake.addTask({ instructions: "FAKE_ERROR" });
  await w.fake.until("failed", () => w.fake.state(id) === "failed");
  const fail = w.fake.fails[0]!.input;
  assertEquals(fail.code, "exit_status");
  assert(fail.reason.includes("claude: error_during_execution: the model gave up"), fail.reason);
});

Deno.test("preset codex: exec --json → progress and the last agent message; a revision resumes the thread", async () => {
  await using w = startWorker({
    base: fake("codex"),
    preset: "codex",
    extraArgs: ["--sandbox", "read-only"],
  });
  const id = w.fake.addTask({ title: "Ferry haiku" });
  await w.fake.until("v1", () => w.fake.state(id) === "submitted");
  const thread = "0199a213-81c0-7800-8aa1-bbab2a035a53";
  assertEquals(w.fake.artifacts(id)[0]!.content, `# Ferry haiku\n\nAnswer from thread ${thread}.`);
  const progress = w.fake.progressLog.map((p) => p.input.text).join("\n");
  for (
    const line of ["(thinking) **Planning the answer**", "$ bash -lc ls", "Looking at it now."]
  ) {
    assert(progress.includes(line), `missing progress ${line}:\n${progress}`);
  }
  const dir = join(w.workdir, id);
  assertEquals(argvOf(dir, 0), ["exec", "--json", "--sandbox", "read-only", "-"]);

  w.fake.requestRevision(id, "Shorter, please.");
  await w.fake.until("v2", () => w.fake.artifacts(id).length === 2);
  assertEquals(argvOf(dir, 1), ["exec", "--json", "--sandbox", "read-only", "resume", thread, "-"]);
  assert(w.fake.artifacts(id)[1]!.content.endsWith("(resumed)."));
});

Deno.test("preset codex: a failed turn fails the task with its message", async () => {
  await using w = startWorker({ base: fake("codex"), preset: "codex" });
  const id = w.fake.addTask({ instructions: "FAKE_ERROR" });
  await w.fake.until("failed", () => w.fake.state(id) === "failed");
  assert(
    w.fake.fails[0]!.input.reason.includes("codex: turn failed: stream disconnected"),
    w.fake.fails[0]!.input.reason,
  );
});

Deno.test("presets: argv without a session, non-JSON lines pass through, unknown events are ignored", () => {
  assertEquals(CLAUDE_PRESET.argv(["claude"], [], undefined), [
    "claude",
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
  ]);
  assertEquals(CODEX_PRESET.argv(["codex"], ["-m", "gpt-5"], "t1"), [
    "codex",
    "exec",
    "--json",
    "-m",
    "gpt-5",
    "resume",
    "t1",
    "-",
  ]);
  for (const preset of [CLAUDE_PRESET, CODEX_PRESET]) {
    const p = preset.parser();
    assertEquals(p.line("Warning: something plain").progress, ["Warning: something plain"]);
    assertEquals(p.line('{"type":"rate_limit_event","x":1}').progress, []);
    assertEquals(p.line("{not json").progress, ["{not json"]);
    assertEquals(p.result().content, undefined);
  }
  // A Claude result that says it failed, though the process may exit 0.
  const p = CLAUDE_PRESET.parser();
  p.line('{"type":"result","subtype":"error_max_turns","is_error":true,"session_id":"s1"}');
  assertEquals(p.result(), { session: "s1", error: "claude: error_max_turns" });
});
