/** `GET /v1/audit`: the hash-chained task event log (optionally of one task). */
import { Hono } from "hono";
import type { AuditEventView } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";

/** The audit route. */
export function auditRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.get("/audit", (c) => {
    const events: AuditEventView[] = d.store.audit.list(c.req.query("task") || undefined)
      .map((r) => ({ ...r, data: JSON.parse(r.data) }));
    return c.json({ events });
  });
  return app;
}
