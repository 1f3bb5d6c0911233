/**
 * `POST /v1/signup` (open signup only): anyone may create a client, rate-limited per
 * connecting address. Proxy headers are not trusted, so behind a proxy the limit applies to the
 * proxy's address. Mounted at `/v1/signup`.
 */
import { Hono } from "hono";
import { getConnInfo } from "hono/deno";
import { z } from "zod";
import { fail, OWNER_RE } from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import { logger } from "../../log.ts";
import type { Relay } from "../relay.ts";
import { generateToken, hashToken, setupUrl } from "../tokens.ts";
import type { RelayEnv } from "./auth.ts";

const log = logger("relay-http");

const SignupSchema = z.strictObject({
  client_id: z.string().regex(OWNER_RE, "lowercase a-z, 0-9, '_' and '-', 1-32 chars"),
});

/** Signups allowed per client address per hour. */
const SIGNUPS_PER_HOUR = 5;

/** The signup route, mounted at `/v1/signup`. */
export function signupRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.post("/", async (c) => {
    if (!relay.options.openSignup) throw fail("forbidden", "signup is closed on this relay");
    const body = await readJson(c, SignupSchema, 1024);
    const address = getConnInfo(c).remote.address ?? "unknown";
    if (!relay.signupRates.take(`signup:${address}`, SIGNUPS_PER_HOUR, Date.now())) {
      throw fail("rate_limited", `at most ${SIGNUPS_PER_HOUR} signups per hour per address`);
    }
    const token = generateToken(body.client_id);
    await relay.store.addClient(body.client_id, await hashToken(token), Date.now());
    log.info("client signed up", { client_id: body.client_id });
    return c.json({
      client_id: body.client_id,
      token,
      setup_url: setupUrl(relay.options.publicUrl, body.client_id, token),
    }, 201);
  });
  return app;
}
