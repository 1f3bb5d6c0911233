/**
 * The agent registry: `POST /v1/agents` (register, or rotate keys with a signature by the old
 * key) and `GET /v1/agents/:handle` (visible agents only; a private one answers like an
 * unknown one). Mounted at `/v1/agents`.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  decodeBase64Url,
  fail,
  handleOwner,
  HandleSchema,
  isHandle,
  registrationInput,
  rotationInput,
  verify,
} from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import { logger } from "../../log.ts";
import { visibleTo } from "../accept.ts";
import type { Relay } from "../relay.ts";
import type { AgentRecord } from "../store.ts";
import { authedClient, clientAuth, type RelayEnv } from "./auth.ts";
import { publicAgent } from "./present.ts";

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

/** Registry routes, mounted at `/v1/agents`. */
export function agentRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  const store = relay.store;

  app.post("/", clientAuth(relay), async (c) => {
    const client = authedClient(c);
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
    if (!existing) {
      const max = relay.options.maxAgentsPerClient;
      if (await store.countClientAgents(client.id) >= max) {
        throw fail("too_many_agents", `a client may register at most ${max} agents here`);
      }
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

  const show = async (c: { var: RelayEnv["Variables"] }, handle: string) => {
    if (!isHandle(handle)) throw fail("invalid_handle");
    const agent = await store.getAgent(handle);
    if (!agent || !(await visibleTo(store, c.var.client?.id ?? null, agent))) {
      throw fail("unknown_agent");
    }
    return await publicAgent(agent);
  };
  const optional = clientAuth(relay, { optional: true });
  app.get(
    "/:owner/:name",
    optional,
    async (c) => c.json(await show(c, `${c.req.param("owner")}/${c.req.param("name")}`)),
  );
  // hono has already percent-decoded the parameter: decoding again would throw (500) on "%25zz"
  // and resolve double-encoded handles.
  app.get("/:handle", optional, async (c) => c.json(await show(c, c.req.param("handle"))));
  return app;
}
