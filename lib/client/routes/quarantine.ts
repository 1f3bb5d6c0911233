/** `/v1/quarantine`: envelopes held for the owner, and the owner's decisions. */
import { Hono } from "hono";
import { z } from "zod";
import { readJson } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import { listQuarantine, releaseQuarantine } from "../quarantine.ts";

const Empty = z.strictObject({});

/** The quarantine routes. */
export function quarantineRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.get("/quarantine", (c) => c.json({ items: listQuarantine(d) }));
  for (const verb of ["accept", "reject"] as const) {
    app.post(`/quarantine/:id/${verb}`, async (c) => {
      await readJson(c, Empty);
      return c.json(await releaseQuarantine(d, c.req.param("id"), verb === "accept"));
    });
  }
  return app;
}
