/**
 * Typed access to the MCP SDK's subpath modules. The package maps `./*` to `dist/esm/*` for
 * code but to `dist/esm/*.d.ts` for types, so `…/server/stdio.js` runs while its types resolve
 * only from the extension-less `…/server/stdio`. Values come from the first, types from the
 * second; the SDK's own `./server` and `./client` entry points are typed already.
 */
import * as stdioModule from "@modelcontextprotocol/sdk/server/stdio.js";
import type * as StdioTypes from "@modelcontextprotocol/sdk/server/stdio";
import * as typesModule from "@modelcontextprotocol/sdk/types.js";
import type * as Types from "@modelcontextprotocol/sdk/types";

const stdio = stdioModule as typeof StdioTypes;
const types = typesModule as typeof Types;

export { Server } from "@modelcontextprotocol/sdk/server";
export const StdioServerTransport = stdio.StdioServerTransport;
export type StdioServerTransport = StdioTypes.StdioServerTransport;
export const CallToolRequestSchema = types.CallToolRequestSchema;
export const ListToolsRequestSchema = types.ListToolsRequestSchema;
export const ErrorCode = types.ErrorCode;
export type ErrorCode = Types.ErrorCode;
export const McpError = types.McpError;
export type McpError = Types.McpError;
export type CallToolResult = Types.CallToolResult;
export type Tool = Types.Tool;
