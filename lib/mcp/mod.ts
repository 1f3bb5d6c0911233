/** The MCP server (stdio) over lib/sdk: tools for agents running in MCP hosts. */
export { createMcpServer, inputJsonSchema, type McpServerOptions, serveStdio } from "./server.ts";
export { MAX_WAIT_SECONDS, resolveAgent, type Tool, type ToolContext, TOOLS } from "./tools.ts";
export { GO_TOOLS } from "./go_tools.ts";
