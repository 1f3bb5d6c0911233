/** The relay's HTTP routes (hono): health, metrics, agent registry, directory, invites, ws. */
import { Hono } from "hono";
import { z } from "zod";
import {
  decodeBase64Url,
  encodeBase64Url,
  fail,
  fingerprint,
  handleOwner,
  HandleSchema,
  isHandle,
  OWNER_RE,
  PermissionsSchema,
  randomBytes,
  registrationInput,
  rotationInput,
  verify,
  VERSION,
} from "../protocol/mod.ts";
import { errorHandler, notFoundHandler, readJson } from "../http/mod.ts";
import { logger } from "../log.ts";
import { mountRelayPages } from "./pages.ts";
import type { Relay } from "./relay.ts";
import type { AgentRecord, ClientRecord } from "./store.ts";
import { generateToken, hashToken, setupUrl } from "./tokens.ts";
import { getConnInfo } from "hono/deno";

const log = logger("relay-http");

/** True when `s` is canonical base64url (decoding it cannot throw later, as a 500). */
const canonicalB64u = (s: string) => {
  try {
    decodeBase64Url(s);
    return true;
  } catch {
    return false;
  }
};
const Key32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "base64url of 32 bytes")
  .refine(canonicalB64u, "canonical base64url (no stray trailing bits)");
const Sig64 = z.string().regex(/^[A-Za-z0-9_-]{86}$/, "base64url of 64 bytes")
  .refine(canonicalB64u, "canonical base64url (no stray trailing bits)");

const ProfileSchema = z.strictObject({
  display_name: z.string().max(100).optional(),
  description: z.string().max(2000).optional(),
  capabilities: z.array(z.string().max(64)).max(50).optional(),
});

const RegisterSchema = z.strictObject({
  handle: HandleSchema,
  signing_public_key: Key32,
  encryption_public_key: Key32,
  profile: ProfileSchema.optional(),
  public: z.boolean().optional(),
  proof: Sig64,
  rotation: Sig64.optional(),
});

const InviteSchema = z.strictObject({
  agent: HandleSchema,
  ttl_seconds: z.number().int().min(60).max(90 * 86_400).optional(),
  max_uses: z.number().int().min(1).max(10_000).optional(),
});

const SignupSchema = z.strictObject({
  client_id: z.string().regex(OWNER_RE, "lowercase a-z, 0-9, '_' and '-', 1-32 chars"),
});

/** Signups allowed per client address per hour. */
const SIGNUPS_PER_HOUR = 5;

const PermissionsBody = z.strictObject({
  agent: HandleSchema,
  peer: HandleSchema,
  permissions: PermissionsSchema,
});

type Env = { Variables: { client: ClientRecord | null } };

/** Builds the relay's hono app around `relay`. */
export function relayApp(relay: Relay): Hono<Env> {
  const app = new Hono<Env>();
  const store = relay.store;

  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);

  // Tokens belong in headers or the hello frame, never in URLs (they end up in logs).
  app.use("*", async (c, next) => {
    const q = new URL(c.req.url).searchParams;
    if (q.has("token") || q.has("access_token")) {
      throw fail(
        "bad_request",
        "never put a token in a URL: use the Authorization header or hello",
      );
    }
    c.set("client", null);
    await next();
  });

  const auth = async (c: { req: { header(name: string): string | undefined } }) => {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    return await relay.authenticate(m?.[1]);
  };
  const optionalAuth = async (c: { req: { header(name: string): string | undefined } }) =>
    c.req.header("authorization") ? await auth(c) : null;

  mountRelayPages(app, relay);

  app.get("/health", async (c) => {
    const stats = await store.stats();
    return c.json({
      status: "ok",
      version: VERSION,
      connected_clients: relay.connectedClients,
      queue_depth: stats.pending_deliveries,
    });
  });

  app.get("/metrics", async (c) => {
    const stats = await store.stats();
    return c.text(
      relay.metrics.render({
        connected_clients: relay.connectedClients,
        queue_depth: stats.pending_deliveries,
      }),
      200,
      { "content-type": "text/plain; version=0.0.4" },
    );
  });

  app.post("/v1/agents", async (c) => {
    const client = await auth(c);
    const body = await readJson(c, RegisterSchema, 16_384);
    if (handleOwner(body.handle) !== client.id) {
      throw fail("handle_not_owned", `client ${client.id} may register @${client.id}/… only`);
    }
    const keys = {
      signing_public_key: body.signing_public_key,
      encryption_public_key: body.encryption_public_key,
    };
    const proofOk = await verify(
      decodeBase64Url(body.signing_public_key),
      registrationInput(body.handle, keys, client.id),
      decodeBase64Url(body.proof),
    );
    if (!proofOk) throw fail("bad_proof");
    const existing = await store.getAgent(body.handle);
    const now = Date.now();
    if (existing && existing.client_id !== client.id) throw fail("handle_taken");
    if (
      existing &&
      (existing.signing_public_key !== body.signing_public_key ||
        existing.encryption_public_key !== body.encryption_public_key)
    ) {
      const rotated = body.rotation !== undefined && await verify(
        decodeBase64Url(existing.signing_public_key),
        rotationInput(body.handle, keys),
        decodeBase64Url(body.rotation),
      );
      if (!rotated) throw fail("rotation_not_signed");
    }
    const record: AgentRecord = {
      handle: body.handle,
      client_id: client.id,
      ...keys,
      profile: body.profile ?? existing?.profile ?? {},
      public: body.public ?? existing?.public ?? false,
      created_at: existing?.created_at ?? now,
      updated_at: now,
    };
    await store.putAgent(record);
    log.info(existing ? "agent updated" : "agent registered", { handle: body.handle });
    return c.json(await publicAgent(record), existing ? 200 : 201);
  });

  const getAgent = async (
    c: Parameters<typeof auth>[0] & { json: (v: unknown) => Response },
    handle: string,
  ) => {
    if (!isHandle(handle)) throw fail("invalid_handle");
    const client = await optionalAuth(c);
    const agent = await store.getAgent(handle);
    if (!agent) throw fail("unknown_agent");
    const visible = agent.public || (client !== null && (
      agent.client_id === client.id ||
      await store.clientLinkedTo(client.id, handle) ||
      await store.hasGrant(client.id, handle) ||
      await store.hasPendingTo(handle, client.id)
    ));
    if (!visible) throw fail("unknown_agent");
    return c.json(await publicAgent(agent));
  };
  app.get(
    "/v1/agents/:owner/:name",
    (c) => getAgent(c, `${c.req.param("owner")}/${c.req.param("name")}`),
  );
  // hono has already percent-decoded the parameter: decoding again would throw (500) on "%25zz"
  // and resolve double-encoded handles.
  app.get("/v1/agents/:handle", (c) => getAgent(c, c.req.param("handle")));

  app.get("/v1/directory", async (c) => {
    const agents = await store.listPublicAgents(500);
    return c.json({ agents: await Promise.all(agents.map(publicAgent)) });
  });

  app.post("/v1/invites", async (c) => {
    const client = await auth(c);
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

  app.get("/v1/invites/:code", async (c) => {
    const client = await optionalAuth(c);
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

  app.delete("/v1/invites/:code", async (c) => {
    const client = await auth(c);
    const invite = await store.getInvite(c.req.param("code"));
    if (!invite || invite.client_id !== client.id) throw fail("invite_not_found");
    await store.revokeInvite(invite.code);
    return c.json({ revoked: true });
  });

  // The owner of `agent` sets what `peer` may send to it; the relay enforces it.
  app.put("/v1/permissions", async (c) => {
    const client = await auth(c);
    const body = await readJson(c, PermissionsBody, 4096);
    if (handleOwner(body.agent) !== client.id) throw fail("handle_not_owned");
    const ok = await store.setLinkPermissions(body.peer, body.agent, body.permissions);
    if (!ok) throw fail("not_connected", `${body.peer} is not connected to ${body.agent}`);
    return c.json({ agent: body.agent, peer: body.peer, permissions: body.permissions });
  });

  // Open signup: anyone may create a client, rate-limited per connecting address. Proxy
  // headers are not trusted, so behind a proxy the limit applies to the proxy's address.
  app.post("/v1/signup", async (c) => {
    if (!relay.options.openSignup) throw fail("forbidden", "signup is closed on this relay");
    const body = await readJson(c, SignupSchema, 1024);
    const address = getConnInfo(c).remote.address ?? "unknown";
    if (!relay.signupRates.take(`signup:${address}`, SIGNUPS_PER_HOUR, Date.now())) {
      throw fail("rate_limited", `at most ${SIGNUPS_PER_HOUR} signups per hour per address`);
    }
    const token = generateToken(body.client_id);
    await store.addClient(body.client_id, await hashToken(token), Date.now());
    log.info("client signed up", { client_id: body.client_id });
    return c.json({
      client_id: body.client_id,
      token,
      setup_url: setupUrl(relay.options.publicUrl, body.client_id, token),
    }, 201);
  });

  app.get("/v1/ws", (c) => {
    if ((c.req.header("upgrade") ?? "").toLowerCase() !== "websocket") {
      throw fail("bad_request", "this endpoint speaks WebSocket");
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
    relay.attach(socket);
    return response;
  });

  return app;
}

async function agentFingerprint(a: AgentRecord): Promise<string> {
  return await fingerprint({
    signing: decodeBase64Url(a.signing_public_key),
    encryption: decodeBase64Url(a.encryption_public_key),
  });
}

/** An agent as the relay shows it: public keys and profile, never the client's secrets. */
async function publicAgent(a: AgentRecord) {
  return {
    handle: a.handle,
    signing_public_key: a.signing_public_key,
    encryption_public_key: a.encryption_public_key,
    fingerprint: await agentFingerprint(a),
    profile: a.profile,
    public: a.public,
    created_at: new Date(a.created_at).toISOString(),
    updated_at: new Date(a.updated_at).toISOString(),
  };
}
