/**
 * The loopback API v1 (design §8), assembled: JSON in snake_case, errors from the catalogue,
 * loopback `Host` only, no CORS; the dashboard session (with CSRF), the owner's token or an
 * agent token (scoped to its agent, design §14) on every `/v1` route. Each resource's routes
 * live in routes/, each guard in guards/.
 */
import { Hono } from "hono";
import { errorHandler, notFoundHandler } from "../http/mod.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import { agentAccess } from "./guards/access.ts";
import { authenticateAgentToken } from "./guards/agent_tokens.ts";
import { bearerToken } from "./guards/bearer.ts";
import { idempotencyKeys } from "./guards/idempotency.ts";
import { loopbackOnly } from "./guards/loopback.ts";
import { dashboardSession } from "./guards/session.ts";
import { mountOpenAI } from "./openai.ts";
import { agentRoutes } from "./routes/agents.ts";
import { auditRoutes } from "./routes/audit.ts";
import { connectionRoutes } from "./routes/connections.ts";
import { eventRoutes } from "./routes/events.ts";
import { fileRoutes } from "./routes/files.ts";
import { healthRoutes } from "./routes/health.ts";
import { messageRoutes } from "./routes/messages.ts";
import { quarantineRoutes } from "./routes/quarantine.ts";
import { taskRoutes } from "./routes/tasks.ts";
import { tokenRoutes } from "./routes/tokens.ts";

const log = logger("api");

/** Builds the loopback API around `d`. `extra` mounts more routes (the dashboard). */
export function daemonApp(d: Daemon, extra?: (app: Hono) => void): Hono {
  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);
  app.use("*", loopbackOnly());

  extra?.(app);

  // Guards first, then routes: a sub-app's routes are added where `route` is called.
  // The principal (owner or one agent) is resolved once; an agent token reaches only the
  // routes guards/access.ts lists, and those routes scope it with guards/principal.ts.
  app.use(
    "/v1/*",
    dashboardSession(d.sessions),
    bearerToken(d.config.localApiToken, (token) => authenticateAgentToken(d, token)),
    agentAccess(),
  );
  app.use("/v1/*", idempotencyKeys(d)); // Idempotency-Key on every state-changing route
  mountOpenAI(app, d); // POST /v1/responses, GET /v1/responses/:id, GET /v1/models
  app.route("/v1", healthRoutes(d));
  app.route("/v1", agentRoutes(d));
  app.route("/v1", connectionRoutes(d));
  app.route("/v1", messageRoutes(d));
  app.route("/v1", taskRoutes(d));
  app.route("/v1", quarantineRoutes(d));
  app.route("/v1", auditRoutes(d));
  app.route("/v1", eventRoutes(d));
  app.route("/v1", tokenRoutes(d));
  app.route("/v1", fileRoutes(d));
  return app;
}
