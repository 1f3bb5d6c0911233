/** `GET /v1/health`: version, identity, the relay link and counts. */
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
          error: d.link?.lastError ?? null,
        },
        counts: { ...d.store.counts() },
      } satisfies HealthView,
    ));
  return app;
}
