/** The shape of an MCP tool: its input schema, hints for hosts, and what it runs. */
import type { z } from "zod";
import type { TaskferryClient } from "../sdk/mod.ts";

/** What a tool call can use. */
export interface ToolContext {
  api: TaskferryClient;
  /** The `--agent` default acting agent, if any. */
  defaultAgent: string | undefined;
  /** Inbox cursors this session handed out, by agent and type filter (wait_for_inbox resumes). */
  cursors: Map<string, number>;
  /** Aborted when the MCP client cancels the call. */
  signal?: AbortSignal | undefined;
}

/** Hints for MCP hosts (spec `ToolAnnotations`). */
export interface ToolHints {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** A tool as the server serves it. */
export interface Tool {
  name: string;
  title: string;
  description: string;
  input: z.ZodType;
  annotations: ToolHints;
  run(ctx: ToolContext, args: unknown): Promise<unknown>;
}

/**
 * Declares a tool with its input schema; `run` gets the parsed input (the server validates
 * arguments with `input` before calling it).
 */
export function tool<S extends z.ZodType>(def: {
  name: string;
  title: string;
  description: string;
  input: S;
  annotations: ToolHints;
  run(ctx: ToolContext, args: z.infer<S>): Promise<unknown>;
}): Tool {
  return { ...def, run: (ctx, args) => def.run(ctx, args as z.infer<S>) };
}
