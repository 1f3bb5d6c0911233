/** Operational routes: `GET /health` (liveness and queue depth) and `GET /metrics`. */
import { Hono } from "hono";
import { VERSION } from "../../protocol/mod.ts";
import type { Relay } from "../relay.ts";
import type { RelayEnv } from "./auth.ts";

/** Health and Prometheus metrics, mounted at `/`. */
export function statusRoutes(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.get("/health", async (c) => {
    const stats = await relay.store.stats();
    return c.json({
      status: "ok",
      version: VERSION,
      connected_clients: relay.connectedClients,
      queue_depth: stats.pending_deliveries,
    });
  });
  app.get("/metrics", async (c) => {
    const stats = await relay.store.stats();
    return c.text(
      relay.metrics.render({
        connected_clients: relay.connectedClients,
        queue_depth: stats.pending_deliveries,
      }),
      200,
      { "content-type": "text/plain; version=0.0.4" },
    );
  });
  return app;
}
