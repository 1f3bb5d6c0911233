/** Argument schemas and helpers shared by the MCP tools. */
import { z } from "zod";
import { HANDLE_RE } from "../protocol/mod.ts";
import { ApiError } from "../sdk/mod.ts";
import type { ToolContext } from "./tool.ts";

/** The longest `wait_seconds` (MCP clients often time a call out after 60 s). */
export const MAX_WAIT_SECONDS = 50;

/** A handle argument described as `what`. */
export const handle = (what: string) =>
  z.string().regex(HANDLE_RE, "a handle like @owner/name").describe(what);
/** The optional acting agent. */
export const agentArg = handle(
  "The local agent acting (a handle like @alice/requester). Optional: defaults to the server's " +
    "--agent, or to the daemon's only agent.",
).optional();
/** A task id argument. */
export const taskId = z.string().min(1).max(64).describe("The task id (task_…).");
/** A free-form JSON object, spelled `additionalProperties: true` (portable to every host). */
export const jsonObject = () =>
  z.record(z.string(), z.unknown()).meta({ additionalProperties: true });

/** The acting agent: given, the server default, or the daemon's only agent. */
export async function resolveAgent(ctx: ToolContext, given: string | undefined): Promise<string> {
  const chosen = given ?? ctx.defaultAgent;
  if (chosen) return chosen;
  const agents = await ctx.api.agents();
  if (agents.length === 1) return agents[0]!.handle;
  throw new ApiError(
    400,
    "validation_failed",
    agents.length === 0
      ? "this daemon has no agents yet (create one: taskferry agent-create @<client>/<name>)"
      : `name the acting agent with \`agent\`; this daemon has ${
        agents.map((a) => a.handle).join(", ")
      }`,
  );
}

/** `{ agent }` when the call or the server names one (otherwise the daemon decides). */
export function agentOf(ctx: ToolContext, given: string | undefined): { agent?: string } {
  const agent = given ?? ctx.defaultAgent;
  return agent ? { agent } : {};
}

/** `o` without its undefined fields (the SDK's inputs take exact optional properties). */
export function defined<T extends Record<string, unknown>>(
  o: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
