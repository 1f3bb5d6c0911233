/** `GET /v1/directory`: the public agents (private ones never appear). */
import { Hono } from "hono";
import type { Relay } from "../relay.ts";
import type { RelayEnv } from "./auth.ts";
import { publicAgent } from "./present.ts";

/** The directory route, mounted at `/v1/directory`. */
export function directoryRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.get("/", async (c) => {
    const agents = await relay.store.listPublicAgents(500);
    return c.json({ agents: await Promise.all(agents.map(publicAgent)) });
  });
  return app;
}
