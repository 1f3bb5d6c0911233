/** `/v1/connections` and `/v1/invites`: request, answer and edit connections; invite links. */
import { Hono } from "hono";
import { z } from "zod";
import { fail, HandleSchema, PermissionsPatchSchema } from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import {
  answerConnection,
  listConnections,
  requestConnection,
  updatePermissions,
} from "../connections.ts";
import { blockPeer, unblockPeer } from "../blocks.ts";
import { createInvite, listInvites, openInvite, revokeInvite } from "../invites.ts";
import type { Daemon } from "../daemon.ts";
import { actingAgent, ownerOnlyField } from "../guards/principal.ts";
import { handleParam } from "./params.ts";

const ConnectBody = z.strictObject({
  from: HandleSchema,
  to: HandleSchema.optional(),
  invite: z.string().min(8).max(512).optional(),
  note: z.string().max(2000).optional(),
  permissions: PermissionsPatchSchema.optional(),
}).refine((c) => c.to !== undefined || c.invite !== undefined, "give to or invite");
const AnswerBody = z.strictObject({
  agent: HandleSchema.optional(),
  permissions: PermissionsPatchSchema.optional(),
  reason: z.string().max(2000).optional(),
});
const PermissionsBody = z.strictObject({
  agent: HandleSchema,
  permissions: PermissionsPatchSchema,
});
const InviteBody = z.strictObject({ agent: HandleSchema });
const OpenInviteBody = z.strictObject({ invite: z.string().min(8).max(512) });
const UnblockBody = z.strictObject({ agent: HandleSchema.optional() });

/** The optional `?agent=` of a block: a local handle. */
function agentQuery(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (!HandleSchema.safeParse(value).success) throw fail("invalid_handle");
  return value;
}

/** The connection and invite routes. */
export function connectionRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.post("/invites", async (c) => {
    const body = await readJson(c, InviteBody);
    return c.json({ invite: await createInvite(d, body.agent) }, 201);
  });
  app.get("/invites", (c) => c.json({ invites: listInvites(d, agentQuery(c.req.query("agent"))) }));
  app.delete("/invites/:code", async (c) => {
    return c.json({ invite: await revokeInvite(d, c.req.param("code")) });
  });
  app.post("/invites/open", async (c) => {
    const body = await readJson(c, OpenInviteBody);
    return c.json({ invite: await openInvite(d, body.invite) });
  });

  app.post("/connections", async (c) => {
    const body = await readJson(c, ConnectBody);
    actingAgent(c, body.from);
    ownerOnlyField(c, "permissions", body.permissions);
    return c.json(await requestConnection(d, body), 202);
  });
  app.get(
    "/connections",
    (c) => c.json({ connections: listConnections(d, actingAgent(c, c.req.query("agent"))) }),
  );
  for (const verb of ["accept", "decline"] as const) {
    app.post(`/connections/:owner/:name/${verb}`, async (c) => {
      const body = await readJson(c, AnswerBody);
      ownerOnlyField(c, "permissions", body.permissions);
      body.agent = actingAgent(c, body.agent);
      const peer = handleParam(c.req.param("owner"), c.req.param("name"));
      return c.json(await answerConnection(d, peer, { ...body, accept: verb === "accept" }), 202);
    });
  }
  // Block and disconnect: DELETE needs no body (no form can send one cross-site).
  app.delete("/connections/:owner/:name", async (c) => {
    const peer = handleParam(c.req.param("owner"), c.req.param("name"));
    return c.json({ connections: await blockPeer(d, peer, agentQuery(c.req.query("agent"))) });
  });
  app.post("/connections/:owner/:name/unblock", async (c) => {
    const body = await readJson(c, UnblockBody);
    const peer = handleParam(c.req.param("owner"), c.req.param("name"));
    return c.json(unblockPeer(d, peer, body.agent));
  });
  app.patch("/connections/:owner/:name", async (c) => {
    const body = await readJson(c, PermissionsBody);
    const peer = handleParam(c.req.param("owner"), c.req.param("name"));
    return c.json({ connection: await updatePermissions(d, peer, body.agent, body.permissions) });
  });
  return app;
}
