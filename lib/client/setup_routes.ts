/**
 * The local pages the Go TaskFerry's links led to (issue 20): `/setup` (save a setup link's relay
 * credentials, then create the first agent) and `/connect?invite=…` (preview an invite, choose or
 * create the local agent, send the request). Both are dashboard views (web/dashboard/setup.js,
 * connect.js): these routes send the browser there, and `POST /setup` saves the credentials.
 *
 * Safety, against the Go pages' weaknesses (seed §8 #18, #19, #21): the pages are the dashboard's,
 * so they need its login; `POST /setup` takes the dashboard session with its CSRF token and
 * same-origin check, or the owner's bearer token (never an agent token); the relay token never
 * goes back to the browser; a token in the page's address is not used.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { fail } from "../protocol/mod.ts";
import { readJson } from "../http/mod.ts";
import type { Daemon } from "./daemon.ts";
import { bearerToken } from "./guards/bearer.ts";
import { dashboardSession } from "./guards/session.ts";

/** The relay credentials a setup link carries. */
export interface SetupCredentials {
  client_id: string;
  relay_url: string;
  relay_token: string;
}

/**
 * How setup links are read and kept: the CLI's rules (lib/cli/setup_link.ts), handed in by
 * `taskferry client` so that this layer does not depend on the CLI.
 */
export interface SetupLinks {
  /** Parses a setup link (ours, or the Go `…/setup?client_id=…` form); throws when invalid. */
  parse(link: string): SetupCredentials;
  /** Saves the credentials where the next `taskferry client` start reads them. */
  save(credentials: SetupCredentials): void;
}

const SetupBody = z.strictObject({ link: z.string().min(10).max(4096) });

/** Mounts `GET /setup`, `GET /connect` and `POST /setup` (before the API's guards). */
export function mountSetupRoutes(app: Hono, d: Daemon, links: SetupLinks | undefined): void {
  // The views live in the dashboard's hash routes; the query becomes the view's.
  app.get("/setup", (c) => {
    c.header("referrer-policy", "no-referrer");
    c.header("cache-control", "no-store");
    // A Go-style local setup URL carries the relay token: it is not used (seed §8 #21).
    const carried = ["relay_token", "token"].some((k) => c.req.query(k) !== undefined);
    return c.redirect(carried ? "/#/setup?error=token_in_url" : "/#/setup", 303);
  });
  app.get("/connect", (c) => {
    const invite = c.req.query("invite") ?? "";
    const q = invite ? `?${new URLSearchParams({ invite })}` : "";
    return c.redirect(`/#/connect${q}`, 303);
  });

  // The owner only: the dashboard session (CSRF token + origin) or the owner's bearer token.
  const noAgentTokens = () => Promise.resolve(null);
  app.post(
    "/setup",
    dashboardSession(d.sessions),
    bearerToken(d.config.localApiToken, noAgentTokens),
    async (c) => {
      const { link } = await readJson(c, SetupBody);
      if (!links) {
        throw fail("unavailable", "this daemon cannot save setup links; run: taskferry client");
      }
      let creds: SetupCredentials;
      try {
        creds = links.parse(link);
      } catch (err) {
        throw fail("validation_failed", (err as Error).message);
      }
      // The database and the agents belong to one client; another needs its own home
      // (the Go daemon re-registered every handle under the new client: seed §8 #32).
      if (creds.client_id !== d.config.clientId) {
        throw fail(
          "conflict",
          `this daemon is client '${d.config.clientId}'; a setup link for '${creds.client_id}' ` +
            "needs its own TASKFERRY_HOME (taskferry client --home DIR --setup -)",
        );
      }
      links.save(creds);
      // The relay link is built at start; new credentials take effect on the next one.
      const same = creds.relay_url === d.config.relayUrl &&
        creds.relay_token === d.config.relayToken;
      return c.json(
        {
          saved: true,
          client_id: creds.client_id,
          relay_url: creds.relay_url,
          restart_needed: !same,
          message: same
            ? "The daemon already uses them."
            : "Restart 'taskferry client' to connect with them (a relay URL or token given by " +
              "flag or environment takes precedence over saved ones).",
        },
        200,
        { "cache-control": "no-store" },
      );
    },
  );
}
