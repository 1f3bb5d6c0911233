/**
 * Agent tokens (design §14), owner-only like every route guards/access.ts does not list:
 * `POST /v1/agents/{handle}/tokens` issues one (the secret is in this answer only),
 * `GET /v1/tokens` lists them, `DELETE /v1/tokens/{id}` revokes one at once.
 */
import { Hono } from "hono";
import { z } from "zod";
import { readJson } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import { issueAgentToken, listAgentTokens, revokeAgentToken } from "../guards/agent_tokens.ts";
import { handleParam } from "./params.ts";

const IssueBody = z.strictObject({ label: z.string().min(1).max(100).optional() });

/** The agent token routes. */
export function tokenRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.post("/agents/:owner/:name/tokens", async (c) => {
    const body = await readJson(c, IssueBody);
    const agent = handleParam(c.req.param("owner"), c.req.param("name"));
    return c.json({ token: await issueAgentToken(d, agent, body.label) }, 201);
  });
  app.get("/tokens", (c) => c.json({ tokens: listAgentTokens(d, c.req.query("agent")) }));
  app.delete("/tokens/:id", (c) => c.json({ token: revokeAgentToken(d, c.req.param("id")) }));
  return app;
}
