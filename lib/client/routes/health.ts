/**
 * `GET /v1/health`: version, identity, the relay link (with the reason it is down: a refused
 * token stops the link and says what to do), inbound deliveries stuck on a transient error,
 * and counts.
 */
import { Hono } from "hono";
import { VERSION } from "../../protocol/mod.ts";
import type { HealthView } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";

/** The health route. */
export function healthRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.get("/health", (c) =>
    c.json(
      {
        status: "ok",
        version: VERSION,
        client_id: d.config.clientId,
        device_id: d.config.deviceId,
        relay: {
          configured: d.link !== null,
          url: d.relay?.baseUrl ?? null,
          connected: d.link?.connected ?? false,
          error: d.link?.fatal ?? d.link?.lastError ?? null,
          retrying: d.link !== null && d.link.fatal === undefined,
        },
        inbound: { stuck: d.inbound.stuck() },
        counts: { ...d.store.counts() },
      } satisfies HealthView,
    ));
  return app;
}
