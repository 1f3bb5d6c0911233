/**
 * The loopback API's guards (lib/client/guards/), driven in process through the assembled app
 * (`app.request`, no sockets): loopback Host, no token in URLs, bearer token, and the dashboard
 * session with its CSRF token and origin check — its idle limit read from the daemon's clock.
 */
import { assertEquals } from "../assert.ts";
import { CLIENT_MIGRATIONS, Daemon, daemonApp } from "../../lib/client/mod.ts";
import { openDatabase } from "../../lib/store/mod.ts";

const HOST = "127.0.0.1:4318";
const TOKEN = "tfl_guards";

Deno.test("guards: host, URL tokens, bearer, dashboard session with CSRF (in process)", async (t) => {
  let now = Date.parse("2031-03-01T10:00:00.000Z");
  const db = openDatabase(":memory:", CLIENT_MIGRATIONS);
  const d = new Daemon(db, {
    clientId: "guards",
    deviceId: "dev_01M800TA6EF950VFRHF00M6645",
    relayUrl: undefined,
    relayToken: undefined,
    localApiToken: TOKEN,
  }, { now: () => now });
  const app = daemonApp(d);
  /** Status and error code (null on success) of one request. */
  const ask = async (path: string, init: { method?: string; headers?: Record<string, string> }) => {
    const res = await app.request(path, {
      method: init.method ?? "GET",
      headers: { host: HOST, ...init.headers },
      ...(init.method === "POST" ? { body: JSON.stringify({ handle: "@guards/a" }) } : {}),
    });
    const json = await res.json() as { error?: { code: string } };
    return [res.status, json.error?.code ?? null];
  };
  const bearer = { authorization: `Bearer ${TOKEN}` };
  try {
    await t.step("loopback guard", async () => {
      assertEquals(await ask("/v1/health", { headers: { ...bearer, host: "evil.example" } }), [
        403,
        "bad_host",
      ]);
      assertEquals(await ask(`/v1/health?token=${TOKEN}`, { headers: bearer }), [
        400,
        "bad_request",
      ]);
      assertEquals(
        await ask("/v1/health", { headers: { ...bearer, "sec-fetch-site": "cross-site" } }),
        [403, "forbidden"],
      );
    });

    await t.step("bearer guard", async () => {
      assertEquals(await ask("/v1/health", {}), [401, "unauthorized"]);
      assertEquals(await ask("/v1/health", { headers: { authorization: "Bearer nope" } }), [
        401,
        "unauthorized",
      ]);
      assertEquals(await ask("/v1/health", { headers: { authorization: TOKEN } }), [
        401,
        "unauthorized",
      ]);
      assertEquals(await ask("/v1/health", { headers: bearer }), [200, null]);
    });

    await t.step("dashboard session guard: CSRF on state changes, same origin", async () => {
      const s = d.sessions.create();
      const cookie = `${d.sessions.cookieName}=${s.id}`;
      const json = { "content-type": "application/json" };
      assertEquals(await ask("/v1/health", { headers: { cookie } }), [200, null]);
      assertEquals(await ask("/v1/agents", { method: "POST", headers: { cookie, ...json } }), [
        403,
        "forbidden",
      ]);
      const csrf = { cookie, ...json, "x-csrf-token": s.csrf };
      assertEquals(
        await ask("/v1/agents", {
          method: "POST",
          headers: { ...csrf, origin: "http://evil.example" },
        }),
        [403, "forbidden"],
      );
      assertEquals(
        await ask("/v1/agents", { method: "POST", headers: { ...csrf, origin: `http://${HOST}` } }),
        [201, null],
      );
      // A session idle past its limit (12 h by the daemon's clock) is gone.
      now += 13 * 3_600_000;
      assertEquals(await ask("/v1/health", { headers: { cookie } }), [401, "unauthorized"]);
    });
  } finally {
    await d.stop();
    db.close();
  }
});
