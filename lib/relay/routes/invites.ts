/**
 * Invites: `POST /v1/invites` (owner only), `GET /v1/invites/:code` (an authenticated look-up
 * redeems it: the caller may then contact the agent), `DELETE /v1/invites/:code`. Mounted at
 * `/v1/invites`.
 */
import { Hono } from "hono";
import { z } from "zod";
import { encodeBase64Url, fail, HandleSchema, randomBytes } from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import type { Relay } from "../relay.ts";
import { authedClient, clientAuth, type RelayEnv } from "./auth.ts";
import { agentFingerprint, publicAgent } from "./present.ts";

const InviteSchema = z.strictObject({
  agent: HandleSchema,
  ttl_seconds: z.number().int().min(60).max(90 * 86_400).optional(),
  max_uses: z.number().int().min(1).max(10_000).optional(),
});

/** Invite routes, mounted at `/v1/invites`. */
export function inviteRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  const store = relay.store;

  app.post("/", clientAuth(relay), async (c) => {
    const client = authedClient(c);
    const body = await readJson(c, InviteSchema, 4096);
    const agent = await store.getAgent(body.agent);
    if (!agent || agent.client_id !== client.id) {
      throw fail("handle_not_owned", "invite only for your own agents");
    }
    const now = Date.now();
    const code = encodeBase64Url(randomBytes(18));
    const expires = now + (body.ttl_seconds ?? 7 * 86_400) * 1000;
    await store.createInvite({
      code,
      agent: body.agent,
      client_id: client.id,
      created_at: now,
      expires_at: expires,
      revoked: false,
      uses: 0,
      max_uses: body.max_uses ?? null,
    });
    return c.json({
      code,
      agent: body.agent,
      expires_at: new Date(expires).toISOString(),
      url: `${relay.options.publicUrl}/invite/${code}`,
      fingerprint: await agentFingerprint(agent),
    }, 201);
  });

  app.get("/:code", clientAuth(relay, { optional: true }), async (c) => {
    const client = c.var.client;
    const invite = await store.getInvite(c.req.param("code"));
    if (!invite) throw fail("invite_not_found");
    const usedUp = invite.max_uses !== null && invite.uses >= invite.max_uses;
    if (invite.revoked || invite.expires_at < Date.now() || usedUp) throw fail("invite_expired");
    const agent = await store.getAgent(invite.agent);
    if (!agent) throw fail("invite_not_found");
    // An authenticated look-up redeems the invite: this client may now contact the agent.
    if (client && client.id !== invite.client_id) {
      await store.useInvite(invite.code, client.id, Date.now());
    }
    return c.json({
      code: invite.code,
      expires_at: new Date(invite.expires_at).toISOString(),
      agent: await publicAgent(agent),
    });
  });

  app.delete("/:code", clientAuth(relay), async (c) => {
    const client = authedClient(c);
    const invite = await store.getInvite(c.req.param("code"));
    if (!invite || invite.client_id !== client.id) throw fail("invite_not_found");
    await store.revokeInvite(invite.code);
    return c.json({ revoked: true });
  });
  return app;
}
