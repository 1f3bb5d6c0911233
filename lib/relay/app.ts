/**
 * The relay's HTTP app (hono): one sub-app per resource under routes/, mounted with
 * `app.route`, behind one URL guard, with one error handler that turns the catalogue's typed
 * errors into JSON answers.
 */
import { Hono } from "hono";
import { fail } from "../protocol/mod.ts";
import { errorHandler, notFoundHandler } from "../http/mod.ts";
import { logger } from "../log.ts";
import { mountRelayPages } from "./pages.ts";
import type { Relay } from "./relay.ts";
import { agentRoutes } from "./routes/agents.ts";
import type { RelayEnv } from "./routes/auth.ts";
import { directoryRoutes } from "./routes/directory.ts";
import { inviteRoutes } from "./routes/invites.ts";
import { permissionRoutes } from "./routes/permissions.ts";
import { signupRoutes } from "./routes/signup.ts";
import { statusRoutes } from "./routes/status.ts";
import { wsRoutes } from "./routes/ws.ts";

const log = logger("relay-http");

/** Builds the relay's hono app around `relay`. */
export function relayApp(relay: Relay): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();
  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);

  // Tokens belong in headers or the hello frame, never in URLs (they end up in logs).
  app.use("*", async (c, next) => {
    const q = new URL(c.req.url).searchParams;
    if (q.has("token") || q.has("access_token")) {
      throw fail(
        "bad_request",
        "never put a token in a URL: use the Authorization header or hello",
      );
    }
    c.set("client", null);
    await next();
  });

  mountRelayPages(app, relay);
  app.route("/", statusRoutes(relay));
  app.route("/v1/agents", agentRoutes(relay));
  app.route("/v1/directory", directoryRoutes(relay));
  app.route("/v1/invites", inviteRoutes(relay));
  app.route("/v1/permissions", permissionRoutes(relay));
  app.route("/v1/signup", signupRoutes(relay));
  app.route("/v1/ws", wsRoutes(relay));
  return app;
}
