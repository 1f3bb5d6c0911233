/**
 * Guard: the caller's credentials as `Authorization: Bearer` — the owner's local API token
 * (compared in constant time) or an agent token (by hash) — resolved once into the request's
 * principal (guards/principal.ts). A request the dashboard-session guard authenticated is the
 * owner's.
 */
import type { MiddlewareHandler } from "hono";
import { fail, timingSafeEqual } from "../../protocol/mod.ts";
import { parseBearer } from "../../protocol/mod.ts";
import "./principal.ts";

/** Resolves an agent token to its agent (null: not a live agent token). */
export type AgentTokenLookup = (
  token: string,
) => Promise<{ handle: string; tokenId: string } | null>;

/**
 * The bearer-token guard; sets `principal`.
 *
 * @example
 * ```ts
 * app.use("/v1/*", bearerToken("tfl_…", (t) => authenticateAgentToken(daemon, t)));
 * ```
 */
export function bearerToken(ownerToken: string, agentToken: AgentTokenLookup): MiddlewareHandler {
  return async (c, next) => {
    if (c.get("auth") === "session") {
      c.set("principal", { kind: "owner" });
      return await next();
    }
    const given = parseBearer(c.req.header("authorization"));
    if (given !== null && timingSafeEqual(given, ownerToken)) {
      c.set("principal", { kind: "owner" });
    } else {
      const agent = given === null ? null : await agentToken(given);
      if (agent === null) {
        throw fail(
          "unauthorized",
          "send Authorization: Bearer <token>: the owner's local API token " +
            "($TASKFERRY_HOME/local-token) or an agent token (taskferry agent token @me/agent)",
        );
      }
      c.set("principal", { kind: "agent", ...agent });
    }
    c.set("auth", "bearer");
    await next();
  };
}
