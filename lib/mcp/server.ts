/**
 * The MCP server (design §1, lib/mcp): the tools of ./tools.ts over the loopback API, served on
 * stdio. Stdout carries only the protocol; logs go to stderr.
 *
 * Errors: a tool that fails answers `isError: true` with the text `<code>: <message>` (codes
 * from the catalogue in lib/protocol/errors.ts), so the model can read and correct it; invalid
 * arguments are `validation_failed` the same way. Protocol errors — an unknown tool, a
 * malformed request — are JSON-RPC errors.
 */
import process from "node:process";
import { z } from "zod";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  Server,
  StdioServerTransport,
} from "./sdk.ts";
import { describeIssues, VERSION } from "../protocol/mod.ts";
import { ApiError, type TaskferryClient } from "../sdk/mod.ts";
import { logger } from "../log.ts";
import { type Tool, type ToolContext, TOOLS } from "./tools.ts";

const log = logger("mcp");

/** Read by MCP hosts that show servers' instructions to the model. */
const INSTRUCTIONS =
  `TaskFerry carries signed, end-to-end encrypted messages and tasks between AI agents \
on different machines. You act as a local agent (see whoami). Talk only to connected peers \
(list_connections; connect asks for one). Delegate work with create_task and wait for it with \
wait_for_task (or wait_for_inbox / get_task): the worker accepts, reports progress, submits \
artifacts, you request_revision or complete_task. When you are the worker: accept_task, \
report_progress, submit_artifact (or fail_task). Acknowledge inbox items with ack_message once \
handled. Failed calls answer "<code>: <message>" with a stable code.`;

/** Options of {@link createMcpServer}. */
export interface McpServerOptions {
  api: TaskferryClient;
  /** Default acting agent for tools that take `agent`. */
  agent?: string | undefined;
  /** The tools to serve (default: all). */
  tools?: readonly Tool[];
}

/** The JSON Schema of a tool's input, as `tools/list` shows it. */
export function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _schema, ...json } = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  return { type: "object", ...json };
}

function errorResult(code: string, message: string): CallToolResult {
  return { content: [{ type: "text", text: `${code}: ${message}` }], isError: true };
}

function okResult(value: unknown): CallToolResult {
  const result: CallToolResult = {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
  };
  if (value && typeof value === "object" && !Array.isArray(value)) {
    result.structuredContent = value as Record<string, unknown>;
  }
  return result;
}

/** Builds the MCP server (not yet connected to a transport). */
export function createMcpServer(opts: McpServerOptions): Server {
  const tools = opts.tools ?? TOOLS;
  const byName = new Map(tools.map((t) => [t.name, t]));
  const cursors = new Map<string, number>();
  const server = new Server(
    { name: "taskferry", title: "TaskFerry", version: VERSION },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: tools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: inputJsonSchema(t.input) as { type: "object" },
      annotations: { title: t.title, ...t.annotations },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args } = request.params;
    const tool = byName.get(name);
    if (!tool) {
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${name}`);
    }
    const parsed = tool.input.safeParse(args ?? {});
    if (!parsed.success) {
      return errorResult("validation_failed", describeIssues(parsed.error));
    }
    const ctx: ToolContext = {
      api: opts.api,
      defaultAgent: opts.agent,
      cursors,
      signal: extra.signal,
    };
    try {
      return okResult(await tool.run(ctx, parsed.data));
    } catch (err) {
      if (err instanceof ApiError) return errorResult(String(err.code), err.message);
      log.error("tool failed", { tool: name, err, stack: (err as Error).stack });
      return errorResult("internal", (err as Error).message ?? String(err));
    }
  });

  return server;
}

/**
 * Serves MCP on this process's stdin/stdout until stdin closes (the host went away) or the
 * transport fails. Resolves then.
 */
export async function serveStdio(opts: McpServerOptions): Promise<void> {
  const server = createMcpServer(opts);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    const done = () => resolve();
    server.onclose = done;
    process.stdin.once("end", done);
    process.stdin.once("close", done);
  });
  server.onerror = (err) => log.warn("mcp transport error", { err });
  await server.connect(transport);
  log.info("mcp server ready", { daemon: opts.api.url, agent: opts.agent ?? null });
  await closed;
  await server.close().catch(() => {});
}
