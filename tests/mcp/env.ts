/** Shared by the MCP tests: how to start `taskferry mcp` as a child process. */

/** The entrypoint and the deno binary running the tests. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;
export const DENO = Deno.execPath();

/** The tool names, in the order the server lists them. */
export const TOOL_NAMES = [
  "whoami",
  "list_connections",
  "connect",
  "send_message",
  "wait_for_inbox",
  "create_task",
  "list_tasks",
  "get_task",
  "wait_for_task",
  "accept_task",
  "claim_task",
  "decline_task",
  "submit_artifact",
  "report_progress",
  "fail_task",
  "request_revision",
  "complete_task",
  "cancel_task",
  "save_file",
  "ack_message",
];

/** The environment a child needs, passed explicitly (nothing else is inherited). */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "DENO_TLS_CA_STORE"];
  const env: Record<string, string> = { NO_COLOR: "1", TASKFERRY_LOG_LEVEL: "warn" };
  for (const k of keep) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  env.PATH ??= "/usr/bin:/bin";
  env.HOME ??= "/tmp";
  return { ...env, ...extra };
}

/** The env that points `taskferry mcp` at a daemon (never its data directory). */
export function daemonEnv(daemon: { running: { url: string }; token: string }) {
  return childEnv({
    TASKFERRY_CLIENT_URL: daemon.running.url,
    TASKFERRY_LOCAL_API_TOKEN: daemon.token,
    // An empty home, so nothing from the developer's ~/.taskferry leaks in.
    TASKFERRY_HOME: "/nonexistent-taskferry-home",
    // Our tools only: the Go TaskFerry's taskferry_* set has its own test (go_tools_test.ts).
    TASKFERRY_MCP_TOOLS: "current",
  });
}
