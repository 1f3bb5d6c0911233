import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { RUNTIME_TOKEN_FLAGS, RUNTIME_TOKEN_HELP, runtimeClient } from "./runtime_client.ts";
import { HANDLE_RE } from "../protocol/mod.ts";
import { GO_TOOLS, serveStdio, type Tool, TOOLS } from "../mcp/mod.ts";
import { logger } from "../log.ts";
import { ourFlags } from "./go/common.ts";

const log = logger("mcp");

/** The tool sets `--tools` chooses from: ours, the Go TaskFerry's `taskferry_*` ones, or both. */
const TOOL_SETS: Record<string, readonly Tool[]> = {
  current: TOOLS,
  go: GO_TOOLS,
  all: [...TOOLS, ...GO_TOOLS],
};

/** `taskferry mcp` */
export const mcpCommand: Command = {
  name: "mcp",
  summary: "Serve the local daemon to an MCP host (Claude Code, Codex, …) over stdio",
  help: `Usage: taskferry mcp [options]

Runs a Model Context Protocol server on standard input/output that talks to the local
daemon's loopback API. MCP hosts start it as a subprocess; stdout carries only the
protocol, logs go to stderr. The daemon ('taskferry client') must be running.

Give it an agent token ('taskferry agent token AGENT', in TASKFERRY_AGENT_TOKEN or a token
file): the model then acts as that agent only and never sees a task waiting at your approval
gate, nor can it approve one. Without one it falls back to your owner token and warns.

Tools: ${TOOLS.map((t) => t.name).join(", ")}.

Go TaskFerry tools (the 'taskferry-mcp' names and arguments, over this daemon; see
docs/migrating.md): ${GO_TOOLS.map((t) => t.name).join(", ")}.

Options:
  --agent AGENT   default acting agent for the tools [env TASKFERRY_AGENT; default: the
                  agent token's agent, else the daemon's only agent]
  --tools SET     which tools to serve: current, go (the Go TaskFerry's taskferry_* tools)
                  or all [env TASKFERRY_MCP_TOOLS; default all]
  --url URL       daemon API [env TASKFERRY_CLIENT_URL, or the Go name TASKFERRY_LOCAL_URL;
                  default: $TASKFERRY_HOME/daemon.json, then http://$TASKFERRY_CLIENT_ADDR
                  (127.0.0.1:4318)]
${RUNTIME_TOKEN_HELP}
  --home DIR      data directory [env TASKFERRY_HOME; default ~/.taskferry]

Examples:
  taskferry agent token @alice/requester > ~/.taskferry/requester.token
  claude mcp add taskferry -- taskferry mcp --token-file ~/.taskferry/requester.token
  # ~/.codex/config.toml
  [mcp_servers.taskferry]
  command = "taskferry"
  args = ["mcp", "--token-file", "/home/me/.taskferry/requester.token"]

See docs/integrations.md.
`,
  async run(args) {
    const { values } = parseFlags("mcp", args, {
      agent: { type: "string" },
      tools: { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      home: { type: "string" },
      ...RUNTIME_TOKEN_FLAGS,
    });
    const agent = values.agent ?? (Deno.env.get("TASKFERRY_AGENT") || undefined);
    if (agent !== undefined && !HANDLE_RE.test(agent)) {
      throw new UsageError(`--agent must be a handle like @owner/name (see: taskferry help mcp)`);
    }
    const set = values.tools ?? (Deno.env.get("TASKFERRY_MCP_TOOLS") || "all");
    const tools = TOOL_SETS[set];
    if (!Object.hasOwn(TOOL_SETS, set) || !tools) {
      throw new UsageError(
        `--tools takes current, go or all, not "${set}" (see: taskferry help mcp)`,
      );
    }
    // A Go `taskferry-mcp` entry sets TASKFERRY_LOCAL_URL: honoured (with a notice) when no
    // --url / TASKFERRY_CLIENT_URL is given.
    const url = values.url ?? ourFlags({}).url;
    const api = runtimeClient(
      { ...values, ...(url !== undefined ? { url } : {}) },
      (message) => log.warn(message),
    );
    // Start even when the daemon is down: the host keeps the server, tools answer `unavailable`.
    await api.health().catch((err) =>
      log.warn("daemon not reachable yet", { url: api.url, err: (err as Error).message })
    );
    await serveStdio({ api, agent, tools });
    return EXIT.ok;
  },
};
