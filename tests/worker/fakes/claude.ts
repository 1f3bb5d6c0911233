/**
 * A fake `claude` CLI for the preset tests: checks the flags the worker passes, reads the prompt
 * from stdin and prints Claude Code's `--output-format stream-json --verbose` events, one JSON
 * object per line: `system`/`init` (with `session_id`), `assistant` messages whose
 * `message.content` holds `text` and `tool_use` blocks, a `user` message with a `tool_result`,
 * and the final `result` (`subtype`, `is_error`, `result`, `session_id`, `total_cost_usd`, …).
 * Format: https://docs.anthropic.com/en/docs/claude-code/sdk/sdk-headless (output formats,
 * multi-turn `--resume`). It writes its argv to `argv-<revision>.json` in its cwd for the test.
 * A prompt containing FAKE_ERROR ends with an error result (and exit 1, as Claude Code does).
 */
const args = Deno.args;
Deno.writeTextFileSync(
  `argv-${Deno.env.get("TASKFERRY_REVISION") ?? "x"}.json`,
  JSON.stringify(args),
);
if (
  args[0] !== "-p" || !args.includes("--verbose") ||
  args[args.indexOf("--output-format") + 1] !== "stream-json"
) {
  console.error("Error: When using --print, --output-format=stream-json requires --verbose");
  Deno.exit(1);
}
const resumeAt = args.indexOf("--resume");
const resumed = resumeAt >= 0 ? args[resumeAt + 1] : undefined;
const prompt = await new Response(Deno.stdin.readable).text();
const session_id = resumed ?? crypto.randomUUID();
const emit = (event: unknown) => console.log(JSON.stringify(event));
emit({
  type: "system",
  subtype: "init",
  cwd: Deno.cwd(),
  session_id,
  tools: ["Bash", "Read", "Edit"],
  mcp_servers: [],
  model: "claude-sonnet-4-5",
  permissionMode: "default",
  apiKeySource: "none",
});
emit({
  type: "assistant",
  message: {
    id: "msg_01",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [
      { type: "text", text: "Reading the task." },
      { type: "tool_use", id: "toolu_01", name: "Bash", input: { command: "ls -la" } },
    ],
    stop_reason: "tool_use",
    usage: { input_tokens: 10, output_tokens: 5 },
  },
  parent_tool_use_id: null,
  session_id,
});
emit({
  type: "user",
  message: {
    role: "user",
    content: [{
      tool_use_id: "toolu_01",
      type: "tool_result",
      content: "total 0",
      is_error: false,
    }],
  },
  parent_tool_use_id: null,
  session_id,
});
emit({
  type: "assistant",
  message: {
    id: "msg_02",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5",
    content: [{ type: "text", text: "Writing the answer." }],
    stop_reason: "end_turn",
    usage: { input_tokens: 12, output_tokens: 7 },
  },
  parent_tool_use_id: null,
  session_id,
});
const failing = prompt.includes("FAKE_ERROR");
const title = prompt.split("\n")[0]!.replace(/^# Task: /, "");
emit({
  type: "result",
  subtype: failing ? "error_during_execution" : "success",
  is_error: failing,
  duration_ms: 1234,
  duration_api_ms: 1100,
  num_turns: 2,
  result: failing
    ? "the model gave up"
    : `# ${title}\n\nAnswer from session ${session_id}${resumed ? " (resumed)" : ""}.`,
  session_id,
  total_cost_usd: 0.0123,
  usage: { input_tokens: 22, output_tokens: 12 },
});
Deno.exit(failing ? 1 : 0);
