/**
 * Guard: the owner's dashboard session. A request without an `Authorization` header may
 * authenticate with the session cookie; then every state change must also carry the session's
 * CSRF token and come from this origin. Marks the request so the bearer guard lets it pass.
 */
import type { MiddlewareHandler } from "hono";
import { fail } from "../../protocol/mod.ts";
import type { SessionTable } from "../sessions.ts";

declare module "hono" {
  interface ContextVariableMap {
    /** How the request authenticated (set by the session and bearer guards). */
    auth: "session" | "bearer";
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The dashboard-session guard (CSRF token and origin check on state changes).
 *
 * @example
 * ```ts
 * app.use("/v1/*", dashboardSession(daemon.sessions), bearerToken(daemon.config.localApiToken));
 * ```
 */
export function dashboardSession(sessions: SessionTable): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.header("authorization") !== undefined) return await next();
    const session = sessions.fromCookie(c.req.header("cookie"));
    if (!session) return await next();
    if (!SAFE_METHODS.has(c.req.method)) {
      if (!sessions.checkCsrf(session, c.req.header("x-csrf-token"))) {
        throw fail("forbidden", "send the dashboard session's X-CSRF-Token header");
      }
      const origin = c.req.header("origin");
      if (origin !== undefined && origin !== `http://${c.req.header("host")}`) {
        throw fail("forbidden", "cross-origin request");
      }
    }
    c.set("auth", "session");
    await next();
  };
}
