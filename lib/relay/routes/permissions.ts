/**
 * `PUT /v1/permissions`: the owner of `agent` sets what `peer` may send to it; the relay
 * enforces it on every envelope. Mounted at `/v1/permissions`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { fail, handleOwner, HandleSchema, PermissionsSchema } from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import type { Relay } from "../relay.ts";
import { authedClient, clientAuth, type RelayEnv } from "./auth.ts";

const PermissionsBody = z.strictObject({
  agent: HandleSchema,
  peer: HandleSchema,
  permissions: PermissionsSchema,
});

/** Permission routes, mounted at `/v1/permissions`. */
export function permissionRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.put("/", clientAuth(relay), async (c) => {
    const client = authedClient(c);
    const body = await readJson(c, PermissionsBody, 4096);
    if (handleOwner(body.agent) !== client.id) throw fail("handle_not_owned");
    const ok = await relay.store.setLinkPermissions(body.peer, body.agent, body.permissions);
    if (!ok) throw fail("not_connected", `${body.peer} is not connected to ${body.agent}`);
    return c.json({ agent: body.agent, peer: body.peer, permissions: body.permissions });
  });
  return app;
}
