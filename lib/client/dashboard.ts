/**
 * The owner's dashboard (design §8), served by the daemon at `/`: one static page, the embedded
 * Preact modules under `/assets/`, and the login routes. Login is by the local API token
 * (`POST /login`) or by a one-time link (`GET /login/<code>`, minted through
 * `POST /v1/dashboard/login-links` — what `taskferry open` prints); either sets an HttpOnly,
 * SameSite=Strict session cookie. The API's session guard (guards/session.ts) takes it and
 * asks for the session's CSRF token on state changes. The page never receives the relay token.
 */
import type { Context, Hono } from "hono";
import { fail } from "../protocol/mod.ts";
import { readLimited } from "../http/mod.ts";
import { timingSafeEqual } from "../protocol/mod.ts";
import {
  type Asset,
  assetHeaders,
  findAsset,
  PAGE_HEADERS,
  pageHtml,
  SHARED_ASSETS,
} from "../../web/shell.ts";
import { DASHBOARD_ASSETS } from "../../web/dashboard/mod.ts";
import type { Daemon } from "./daemon.ts";
import { LOGIN_CODE_TTL_MS, SESSION_MAX_MS, type SessionTable } from "./sessions.ts";
import { parseBearer } from "../protocol/mod.ts";
import { mountSetupRoutes, type SetupLinks } from "./setup_routes.ts";

const ASSETS: Readonly<Record<string, Asset>> = { ...SHARED_ASSETS, ...DASHBOARD_ASSETS };
const PAGE = pageHtml({
  title: "TaskFerry dashboard",
  entry: "dashboard/app.js",
  page: "dashboard",
  noscript:
    "The TaskFerry dashboard needs JavaScript. Everything it shows is also available through the CLI (taskferry help).",
});
const NO_STORE = { "cache-control": "no-store" };
const MAX_LINK_TTL_S = 86_400;

/**
 * Mounts the dashboard routes on the daemon's app (before the API's auth middleware); `setup`
 * lets `/setup` save relay credentials (setup_routes.ts).
 */
export function mountDashboard(app: Hono, d: Daemon, setup?: SetupLinks): void {
  const sessions = d.sessions;
  mountSetupRoutes(app, d, setup); // GET /setup, GET /connect, POST /setup

  app.get("/", (c) => c.body(PAGE, 200, PAGE_HEADERS));
  app.get("/assets/*", (c) => {
    const asset = findAsset(ASSETS, c.req.path.slice("/assets/".length));
    if (!asset) throw fail("not_found", `no asset ${c.req.path}`);
    return c.body(asset.body, 200, assetHeaders(asset));
  });

  // Whether this browser is logged in, and its CSRF token (readable same-origin only: no CORS).
  app.get("/auth/session", (c) => {
    const s = sessions.fromCookie(c.req.header("cookie"));
    return c.json(
      s ? { authenticated: true, csrf_token: s.csrf } : { authenticated: false },
      200,
      NO_STORE,
    );
  });

  app.post("/login", async (c) => {
    sameOrigin(c);
    const type = c.req.header("content-type") ?? "";
    const form = /^application\/x-www-form-urlencoded\b/i.test(type);
    if (!form && !/^application\/json\b/i.test(type)) {
      throw fail("unsupported_media_type", "send the token as JSON or as a form field");
    }
    const raw = new TextDecoder().decode(await readLimited(c.req.raw, 4096));
    let token: unknown;
    if (form) token = new URLSearchParams(raw).get("token");
    else {
      try {
        token = (JSON.parse(raw) as { token?: unknown } | null)?.token;
      } catch {
        throw fail("invalid_json");
      }
    }
    if (typeof token !== "string" || !timingSafeEqual(token.trim(), d.config.localApiToken)) {
      // A wrong guess costs a little time; the token has 256 bits anyway.
      await new Promise((r) => setTimeout(r, 200));
      if (form) return c.redirect("/#/login?error=unauthorized", 303);
      throw fail("unauthorized", "that is not this daemon's local API token");
    }
    const session = startSession(c, sessions);
    if (form) return c.redirect("/", 303);
    return c.json({ authenticated: true, csrf_token: session.csrf }, 200, NO_STORE);
  });

  // One-time link: valid once, for a few minutes; then the cookie does the rest.
  app.get("/login/:code", (c) => {
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    if (!sessions.redeem(c.req.param("code"))) {
      return c.redirect("/#/login?error=link_invalid", 303);
    }
    startSession(c, sessions);
    return c.redirect("/", 303);
  });

  app.post("/logout", (c) => {
    sameOrigin(c);
    const s = sessions.fromCookie(c.req.header("cookie"));
    if (s) {
      if (!sessions.checkCsrf(s, c.req.header("x-csrf-token"))) {
        throw fail("forbidden", "send the dashboard session's X-CSRF-Token header");
      }
      sessions.destroy(s.id);
    }
    c.header("set-cookie", `${sessions.cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return c.json({ authenticated: false }, 200, NO_STORE);
  });

  // Mints a one-time login link. Bearer token only: a dashboard session cannot mint more.
  app.post("/v1/dashboard/login-links", async (c) => {
    const token = parseBearer(c.req.header("authorization"));
    if (token === null || !timingSafeEqual(token, d.config.localApiToken)) {
      throw fail("unauthorized", "send Authorization: Bearer <local API token>");
    }
    const type = c.req.header("content-type") ?? "";
    let ttl = LOGIN_CODE_TTL_MS / 1000;
    if (/^application\/json\b/i.test(type)) {
      const raw = new TextDecoder().decode(await readLimited(c.req.raw, 1024)).trim();
      let body: { ttl_seconds?: unknown } = {};
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        throw fail("invalid_json");
      }
      if (body.ttl_seconds !== undefined) {
        const t = body.ttl_seconds;
        if (typeof t !== "number" || !Number.isInteger(t) || t < 10 || t > MAX_LINK_TTL_S) {
          throw fail(
            "validation_failed",
            `ttl_seconds must be a whole number from 10 to ${MAX_LINK_TTL_S}`,
          );
        }
        ttl = t;
      }
    } else if (c.req.header("content-length") && c.req.header("content-length") !== "0") {
      throw fail("unsupported_media_type");
    }
    const code = sessions.issueCode(ttl * 1000);
    return c.json(
      {
        url: `http://${c.req.header("host")}/login/${code}`,
        expires_at: new Date(Date.now() + ttl * 1000).toISOString(),
      },
      201,
      NO_STORE,
    );
  });
}

/** A one-time login link for the daemon at `baseUrl` (the demo prints these). */
export function dashboardLoginUrl(d: Daemon, baseUrl: string, ttlMs = LOGIN_CODE_TTL_MS): string {
  return `${baseUrl.replace(/\/+$/, "")}/login/${d.sessions.issueCode(ttlMs)}`;
}

function startSession(c: Context, sessions: SessionTable) {
  const session = sessions.create();
  c.header(
    "set-cookie",
    `${sessions.cookieName}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${
      Math.floor(SESSION_MAX_MS / 1000)
    }`,
  );
  return session;
}

/** Login and logout must come from the dashboard's own origin when the browser says where. */
function sameOrigin(c: Context) {
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== "null" && origin !== `http://${c.req.header("host")}`) {
    throw fail("forbidden", "cross-origin request");
  }
  if (origin === "null") throw fail("forbidden", "opaque origin");
}
