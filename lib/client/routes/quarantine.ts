/** `/v1/quarantine`: envelopes held for the owner (paged, newest first), and the decisions. */
import { Hono } from "hono";
import { z } from "zod";
import { readJson } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";
import { listQuarantine, QUARANTINE_MAX_PAGE, releaseQuarantine } from "../quarantine.ts";
import { intParam } from "./params.ts";

const Empty = z.strictObject({});

/** The quarantine routes. */
export function quarantineRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.get("/quarantine", (c) => {
    const before = c.req.query("before");
    return c.json(listQuarantine(d, {
      limit: intParam(c.req.query("limit"), "limit", 1, QUARANTINE_MAX_PAGE, 100),
      before: before === undefined || before === ""
        ? undefined
        : intParam(before, "before", 1, Number.MAX_SAFE_INTEGER, 1),
    }));
  });
  for (const verb of ["accept", "reject"] as const) {
    app.post(`/quarantine/:id/${verb}`, async (c) => {
      await readJson(c, Empty);
      return c.json(await releaseQuarantine(d, c.req.param("id"), verb === "accept"));
    });
  }
  return app;
}
