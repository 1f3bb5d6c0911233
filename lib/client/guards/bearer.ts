/** Guard: the local API token as `Authorization: Bearer`, compared in constant time. */
import type { MiddlewareHandler } from "hono";
import { fail, timingSafeEqual } from "../../protocol/mod.ts";
import { parseBearer } from "../util.ts";

/**
 * The bearer-token guard; passes a request the dashboard-session guard already authenticated.
 *
 * @example
 * ```ts
 * app.use("/v1/*", bearerToken("tfl_…"));
 * ```
 */
export function bearerToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.get("auth") === "session") return await next();
    const given = parseBearer(c.req.header("authorization"));
    if (given === null || !timingSafeEqual(given, token)) {
      throw fail(
        "unauthorized",
        "send Authorization: Bearer <local API token> (see $TASKFERRY_HOME/local-token)",
      );
    }
    c.set("auth", "bearer");
    await next();
  };
}
