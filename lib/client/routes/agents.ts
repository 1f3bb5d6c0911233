/** `/v1/agents`: create and list local agents. */
import { Hono } from "hono";
import { z } from "zod";
import { HandleSchema } from "../../protocol/mod.ts";
import { readJson } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import { agentOf } from "../guards/principal.ts";
import { handleParam } from "./params.ts";

const Empty = z.strictObject({});

const AgentBody = z.strictObject({
  handle: HandleSchema,
  display_name: z.string().max(100).optional(),
  description: z.string().max(2000).optional(),
  capabilities: z.array(z.string().max(64)).max(50).optional(),
  public: z.boolean().optional(),
});

/** The agent routes. */
export function agentRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.post("/agents", async (c) => {
    const body = await readJson(c, AgentBody);
    return c.json({ agent: await d.keyring.create(body) }, 201);
  });
  // An agent token sees its own agent only (creating agents is the owner's: guards/access.ts).
  app.get("/agents", (c) => {
    const own = agentOf(c);
    return c.json({ agents: d.keyring.list().filter((a) => own === null || a.handle === own) });
  });
  // New keys, registered with a rotation signed by the old key; peers re-pin through their
  // key-change quarantine (docs/security.md §2.6).
  app.post("/agents/:owner/:name/rotate-key", async (c) => {
    await readJson(c, Empty);
    const handle = handleParam(c.req.param("owner"), c.req.param("name"));
    const agent = await d.keyring.rotate(handle);
    d.events.emit("agent", { handle, rotated: true }, handle);
    return c.json({ agent });
  });
  return app;
}
