/** `GET /v1/audit`: the hash-chained task event log; `GET /v1/audit/verify` checks the chains. */
import { Hono } from "hono";
import type { AuditEventView, AuditVerification } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";
import { verifyChain } from "../tasks/mod.ts";

/** The audit routes. */
export function auditRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.get("/audit", (c) => {
    const events: AuditEventView[] = d.store.audit.list(c.req.query("task") || undefined)
      .map((r) => ({ ...r, data: JSON.parse(r.data) }));
    return c.json({ events });
  });
  app.get("/audit/verify", (c) => {
    const counts = new Map<string, number>();
    for (const e of d.store.audit.list(c.req.query("task") || undefined)) {
      counts.set(e.task_id, (counts.get(e.task_id) ?? 0) + 1);
    }
    const tasks = [...counts].map(([task_id, events]) => ({
      task_id,
      events,
      broken_at: verifyChain(d, task_id),
    }));
    const answer: AuditVerification = { ok: tasks.every((t) => t.broken_at === null), tasks };
    return c.json(answer);
  });
  return app;
}
