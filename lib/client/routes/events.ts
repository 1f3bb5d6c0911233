/**
 * `GET /v1/events`: the daemon's events as Server-Sent Events, optionally of one agent. A stream
 * that resumes (`Last-Event-ID`) gets the buffered events it missed first; a new stream starts
 * from now. Pings every 15 s keep proxies from closing an idle stream. An agent token's stream
 * carries only its agent's events, none about a task held at the owner's gate.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { VERSION } from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import type { DaemonEvent } from "../events.ts";
import { actingAgent, eventVisibleTo } from "../guards/principal.ts";
import { DEFAULT_DAEMON_OPTIONS } from "../options.ts";

/** The event stream route. */
export function eventRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.get("/events", (c) => {
    const agent = actingAgent(c, c.req.query("agent"));
    const principal = c.get("principal");
    const resumeFrom = c.req.header("last-event-id");
    const lastId = resumeFrom === undefined ? null : Number(resumeFrom) || 0;
    return streamSSE(c, async (stream) => {
      const queue: { id: number; type: string; data: string }[] = [];
      let wake: (() => void) | null = null;
      const push = (e: DaemonEvent) => {
        if (agent && e.agent && e.agent !== agent) return;
        if (!eventVisibleTo(d, principal, e)) return;
        queue.push({
          id: e.id,
          type: e.type,
          data: JSON.stringify({ ...e.data, agent: e.agent ?? null }),
        });
        wake?.();
      };
      if (lastId !== null) { for (const e of d.events.since(lastId)) push(e); }
      const unsubscribe = d.events.subscribe(push);
      const keepalive = setInterval(() => {
        queue.push({ id: -1, type: "ping", data: "{}" });
        wake?.();
      }, DEFAULT_DAEMON_OPTIONS.streamKeepaliveMs);
      stream.onAbort(() => {
        unsubscribe();
        clearInterval(keepalive);
        wake?.();
      });
      await stream.writeSSE({ event: "ready", data: JSON.stringify({ version: VERSION }) });
      try {
        while (!stream.aborted) {
          if (queue.length === 0) await new Promise<void>((r) => (wake = r));
          wake = null;
          for (const item of queue.splice(0)) {
            if (item.id < 0) await stream.writeSSE({ event: "ping", data: "{}" });
            else await stream.writeSSE({ id: String(item.id), event: item.type, data: item.data });
          }
        }
      } finally {
        unsubscribe();
        clearInterval(keepalive);
      }
    });
  });
  return app;
}
