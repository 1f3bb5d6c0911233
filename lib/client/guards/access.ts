/**
 * Guard: which `/v1` routes an agent token may call (design §14). The table is the whole rule:
 * a route not listed needs the owner (owner token or dashboard session), so a route added later
 * is owner-only until someone decides otherwise. docs/api.md ("Which routes need which token")
 * mirrors it; tests/client/agent_tokens_test.ts checks both ways.
 */
import type { MiddlewareHandler } from "hono";
import { fail } from "../../protocol/mod.ts";
import { TASK_ACTIONS } from "../tasks/mod.ts";

/** `[method, path]` of every route an agent token may call (`:x` is one path segment). */
export const AGENT_ROUTES: readonly (readonly [string, string])[] = [
  ["GET", "/v1/health"],
  ["GET", "/v1/agents"],
  ["GET", "/v1/connections"],
  ["POST", "/v1/connections"],
  ["POST", "/v1/connections/:owner/:name/accept"],
  ["POST", "/v1/connections/:owner/:name/decline"],
  ["POST", "/v1/messages"],
  ["GET", "/v1/messages"],
  ["GET", "/v1/messages/:id"],
  ["POST", "/v1/messages/:id/ack"],
  ["GET", "/v1/conversations"],
  ["GET", "/v1/inbox"],
  ["GET", "/v1/events"],
  ["POST", "/v1/tasks"],
  ["GET", "/v1/tasks"],
  ["GET", "/v1/tasks/:id"],
  ["GET", "/v1/tasks/:id/artifacts/:version"],
  // The parties' task actions; never the owner's gate decisions (approve, reject).
  ...Object.keys(TASK_ACTIONS).map((a) => ["POST", `/v1/tasks/:id/${a}`] as const),
  // A worker renews its lease on an offered task (a progress report).
  ["POST", "/v1/tasks/:id/heartbeat"],
];

const COMPILED = AGENT_ROUTES.map(([method, path]) => ({
  method,
  path: new RegExp(`^${path.replace(/:[a-z]+/g, "[^/]+")}/?$`),
}));

/** Whether an agent token may call `method path`. */
export function agentMayCall(method: string, path: string): boolean {
  const m = method === "HEAD" ? "GET" : method;
  return COMPILED.some((r) => r.method === m && r.path.test(path));
}

/**
 * The access guard, after the bearer guard: an agent principal reaches only
 * {@link AGENT_ROUTES}; anything else is `forbidden` before a handler runs.
 *
 * @example
 * ```ts
 * app.use("/v1/*", dashboardSession(s), bearerToken(owner, agentTokens), agentAccess());
 * ```
 */
export function agentAccess(): MiddlewareHandler {
  return async (c, next) => {
    const p = c.get("principal");
    if (p.kind === "agent" && !agentMayCall(c.req.method, c.req.path)) {
      throw fail(
        "forbidden",
        `${c.req.method} ${c.req.path} needs the owner's token; an agent token (${p.handle}) ` +
          "reaches only its agent's routes (docs/api.md, which routes need which token)",
      );
    }
    await next();
  };
}
