/**
 * Relay client authentication for HTTP routes, as middleware: `Authorization: Bearer <relay
 * token>` sets `c.var.client`. Required routes refuse without it (`unauthorized`,
 * `client_revoked`); optional ones let anonymous callers through with `client` null.
 */
import type { MiddlewareHandler } from "hono";
import type { Relay } from "../relay.ts";
import type { ClientRecord } from "../store.ts";

/** The variables relay routes share. */
export type RelayEnv = { Variables: { client: ClientRecord | null } };

/** The authenticated client of a request that went through {@link clientAuth}. */
export type AuthedEnv = { Variables: { client: ClientRecord } };

/**
 * Authenticates the bearer token of every request it guards.
 *
 * @param relay the relay whose store holds the clients
 * @param opts `optional`: a request without `Authorization` passes as anonymous
 * @example
 * ```ts
 * app.post("/", clientAuth(relay), (c) => c.json({ id: c.var.client.id }));
 * ```
 */
export function clientAuth(
  relay: Relay,
  opts: { optional?: boolean } = {},
): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined && opts.optional) {
      c.set("client", null);
    } else {
      const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
      c.set("client", await relay.authenticate(m?.[1]));
    }
    await next();
  };
}

/** The client set by a required {@link clientAuth}. */
export function authedClient(c: { var: RelayEnv["Variables"] }): ClientRecord {
  const client = c.var.client;
  if (!client) throw new Error("route is missing clientAuth(relay)");
  return client;
}
