/**
 * Guard: only loopback callers in the owner's own context. Refuses a non-loopback `Host` (DNS
 * rebinding), cross-site requests (a page on another site driving the API through the owner's
 * browser) and tokens in URLs (they end up in logs and history).
 */
import type { MiddlewareHandler } from "hono";
import { fail } from "../../protocol/mod.ts";

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i;

/**
 * The loopback guard, for every route of the daemon's app.
 *
 * @example
 * ```ts
 * app.use("*", loopbackOnly());
 * ```
 */
export function loopbackOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (!LOOPBACK_HOST.test(host)) throw fail("bad_host");
    // The one cross-site exception is following a plain link to the dashboard page itself (a
    // relay's invite page links to `/#/invites?open=…`): that page is static and carries no
    // data or secret.
    if (c.req.header("sec-fetch-site") === "cross-site" && !isDashboardNavigation(c.req)) {
      throw fail("forbidden", "cross-site request");
    }
    const q = new URL(c.req.url).searchParams;
    if (q.has("token") || q.has("access_token")) {
      throw fail("bad_request", "never put a token in a URL");
    }
    await next();
  };
}

/** Pages a link on another site may open: the dashboard and its `/setup`, `/connect` redirects. */
const NAVIGABLE = new Set(["/", "/setup", "/connect"]);

/** A top-level browser navigation to a dashboard page ({@link NAVIGABLE}), nothing else. */
function isDashboardNavigation(
  req: { method: string; path: string; header(n: string): string | undefined },
) {
  return req.method === "GET" && NAVIGABLE.has(req.path) &&
    req.header("sec-fetch-mode") === "navigate" &&
    req.header("sec-fetch-dest") === "document";
}
