/**
 * A fake `codex` CLI for the preset tests: checks `exec --json … [resume THREAD] -`, reads the
 * prompt from stdin and prints `codex exec --json` JSONL events: `thread.started` (`thread_id`),
 * `turn.started`, `item.started` / `item.completed` with items of type `reasoning`,
 * `command_execution` and `agent_message` (`text`), then `turn.completed` (`usage`) — or
 * `turn.failed` (`error.message`). Format: openai/codex `codex-rs/exec/src/exec_events.rs`
 * (https://raw.githubusercontent.com/openai/codex/main/codex-rs/exec/src/exec_events.rs) and
 * the Codex docs on non-interactive mode (`codex exec --json`, `codex exec resume <SESSION_ID>`).
 * It writes its argv to `argv-<revision>.json` in its cwd. A prompt with FAKE_ERROR fails the turn.
 */
const args = Deno.args;
Deno.writeTextFileSync(
  `argv-${Deno.env.get("TASKFERRY_REVISION") ?? "x"}.json`,
  JSON.stringify(args),
);
if (args[0] !== "exec" || !args.includes("--json") || args.at(-1) !== "-") {
  console.error("error: unexpected arguments");
  Deno.exit(2);
}
const resumeAt = args.indexOf("resume");
const resumed = resumeAt >= 0 ? args[resumeAt + 1] : undefined;
const prompt = await new Response(Deno.stdin.readable).text();
const thread_id = resumed ?? "0199a213-81c0-7800-8aa1-bbab2a035a53";
const emit = (event: unknown) => console.log(JSON.stringify(event));
emit({ type: "thread.started", thread_id });
emit({ type: "turn.started" });
emit({
  type: "item.completed",
  item: { id: "item_0", type: "reasoning", text: "**Planning the answer**" },
});
emit({
  type: "item.started",
  item: {
    id: "item_1",
    type: "command_execution",
    command: "bash -lc ls",
    aggregated_output: "",
    exit_code: null,
    status: "in_progress",
  },
});
emit({
  type: "item.completed",
  item: {
    id: "item_1",
    type: "command_execution",
    command: "bash -lc ls",
    aggregated_output: "README.md\n",
    exit_code: 0,
    status: "completed",
  },
});
if (prompt.includes("FAKE_ERROR")) {
  emit({ type: "turn.failed", error: { message: "stream disconnected before completion" } });
  Deno.exit(1);
}
emit({
  type: "item.completed",
  item: { id: "item_2", type: "agent_message", text: "Looking at it now." },
});
const title = prompt.split("\n")[0]!.replace(/^# Task: /, "");
emit({
  type: "item.completed",
  item: {
    id: "item_3",
    type: "agent_message",
    text: `# ${title}\n\nAnswer from thread ${thread_id}${resumed ? " (resumed)" : ""}.`,
  },
});
emit({
  type: "turn.completed",
  usage: { input_tokens: 24763, cached_input_tokens: 24448, output_tokens: 122 },
});
