/**
 * The loopback API's defences (design §8): Host, token, Sec-Fetch-Site, tokens in URLs and
 * request bodies are checked; no CORS, and no secrets in answers.
 */
import { assert, assertEquals } from "../assert.ts";
import { startWorld } from "./world.ts";
import { ALICE, BOB, dbRows, rawHttp } from "./helpers.ts";

Deno.test("security: the loopback API checks Host, token, Sec-Fetch-Site, URL tokens and bodies; no CORS, no secrets", async () => {
  const w = await startWorld();
  try {
    const { port, token, relayToken } = w.bob;
    const base = w.bob.running.url;
    const seen: { where: string; headers: Headers; text: string }[] = [];
    const call = async (path: string, init: RequestInit = {}, auth: string | null = token) => {
      const headers = new Headers(init.headers);
      if (auth !== null) headers.set("authorization", `Bearer ${auth}`);
      const res = await fetch(base + path, { ...init, headers });
      const text = await res.text();
      seen.push({ where: `${init.method ?? "GET"} ${path}`, headers: res.headers, text });
      let body: { error?: { code: string; message: string } } & Record<string, unknown> = {};
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body, headers: res.headers };
    };
    const raw = async (head: string, headers: Record<string, string>, body?: string) => {
      const res = await rawHttp(port, head, headers, body);
      seen.push({ where: head, headers: res.headers, text: res.text });
      return { status: res.status, body: JSON.parse(res.text || "{}"), headers: res.headers };
    };
    const expectError = (
      r: { status: number; body: { error?: { code: string; message: string } } },
      status: number,
      code: string,
      where: string,
    ) => {
      assertEquals([r.status, r.body.error?.code], [status, code], where);
      assertEquals(typeof r.body.error?.message, "string", where);
    };
    const auth = { Authorization: `Bearer ${token}` };

    // Host must be a loopback name (DNS rebinding), even with the right token.
    for (
      const host of [
        "evil.example",
        `evil.example:${port}`,
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        `10.0.0.1:${port}`,
      ]
    ) {
      expectError(
        await raw("GET /v1/health HTTP/1.1", { Host: host, ...auth }),
        403,
        "bad_host",
        host,
      );
    }
    const agentsBefore = (await w.bob.api.agents()).length;
    expectError(
      await raw("POST /v1/agents HTTP/1.1", {
        Host: "attacker.example",
        ...auth,
        "Content-Type": "application/json",
      }, JSON.stringify({ handle: "@bob/evil" })),
      403,
      "bad_host",
      "POST with a foreign Host",
    );
    assertEquals((await w.bob.api.agents()).length, agentsBefore, "nothing was created");
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "localhost", `[::1]:${port}`]) {
      assertEquals(
        (await raw("GET /v1/health HTTP/1.1", { Host: host, ...auth })).status,
        200,
        host,
      );
    }

    // The bearer token.
    expectError(await call("/v1/health", {}, null), 401, "unauthorized", "no token");
    expectError(await call("/v1/health", {}, "tfl_wrong"), 401, "unauthorized", "wrong token");
    expectError(await call("/v1/health", {}, relayToken), 401, "unauthorized", "relay token");
    expectError(
      await call("/v1/inbox", { headers: { authorization: `Basic ${btoa("x:" + token)}` } }, null),
      401,
      "unauthorized",
      "basic auth",
    );

    // Browsers on other sites cannot drive it; tokens never go in URLs.
    expectError(
      await call("/v1/agents", { headers: { "sec-fetch-site": "cross-site" } }),
      403,
      "forbidden",
      "cross-site",
    );
    assertEquals(
      (await call("/v1/agents", { headers: { "sec-fetch-site": "same-origin" } })).status,
      200,
    );
    assertEquals((await call("/v1/agents", { headers: { "sec-fetch-site": "none" } })).status, 200);
    expectError(await call(`/v1/health?token=${token}`, {}, null), 400, "bad_request", "?token=");
    expectError(
      await call(`/v1/inbox?access_token=${token}`),
      400,
      "bad_request",
      "?access_token=",
    );

    // State changes need JSON bodies that match the schema.
    const post = (path: string, body: string, type?: string) =>
      call(path, {
        method: "POST",
        body,
        headers: type ? { "content-type": type } : {},
      });
    expectError(
      await post(
        "/v1/messages",
        JSON.stringify({ from: BOB, to: ALICE, text: "hi" }),
        "text/plain",
      ),
      415,
      "unsupported_media_type",
      "text/plain",
    );
    expectError(
      await post("/v1/messages", "from=x", "application/x-www-form-urlencoded"),
      415,
      "unsupported_media_type",
      "form",
    );
    expectError(
      await post("/v1/messages", "{not json", "application/json"),
      400,
      "invalid_json",
      "bad JSON",
    );
    const unknownField = await post(
      "/v1/agents",
      JSON.stringify({ handle: "@bob/x", is_admin: true }),
      "application/json",
    );
    expectError(unknownField, 400, "validation_failed", "unknown field");
    assert(/is_admin/.test(JSON.stringify(unknownField.body)), "the message names the field");
    expectError(
      await post(
        "/v1/messages",
        JSON.stringify({ from: BOB, to: "bob", text: "x" }),
        "application/json",
      ),
      400,
      "validation_failed",
      "bad handle",
    );
    expectError(await call("/v1/nope"), 404, "not_found", "unknown route");
    expectError(await call("/v1/tasks/task_nope"), 404, "task_not_found", "unknown task");
    expectError(await call("/v1/inbox?wait=9999"), 400, "validation_failed", "wait too long");

    // No CORS, not even for a preflight from another origin.
    const origin = { origin: "https://evil.example" };
    await call("/v1/messages", {
      method: "OPTIONS",
      headers: { ...origin, "access-control-request-method": "POST" },
    }, null);
    await call("/v1/health", { headers: origin });
    await call("/", { headers: origin }, null);

    // Read everything an agent can read, then look for secrets in all of it.
    await call("/v1/health");
    const agents = await call("/v1/agents");
    await call("/v1/connections");
    await call(`/v1/inbox?agent=${encodeURIComponent(BOB)}`);
    await call("/v1/tasks");
    await call("/v1/quarantine");
    await call("/v1/audit");
    for (const a of agents.body.agents as Record<string, unknown>[]) {
      assert(!Object.keys(a).some((k) => /private|secret|token/i.test(k)), Object.keys(a).join());
    }
    const privateKeys = dbRows<{ s: string; e: string }>(
      w.bob,
      "SELECT signing_private_key AS s, encryption_private_key AS e FROM agents",
    ).flatMap((r) => [r.s, r.e]);
    assert(privateKeys.length > 0);
    const relaySecret = relayToken.split(".").at(-1)!;
    assert(relaySecret.length >= 16, "the relay token has a secret part");
    for (const r of seen) {
      for (const [name] of r.headers) {
        assert(!name.toLowerCase().startsWith("access-control-"), `${r.where}: ${name}`);
      }
      assert(
        !r.text.includes(relayToken) && !r.text.includes(relaySecret),
        `${r.where} leaks the relay token`,
      );
      assert(!r.text.includes(token.slice(4)), `${r.where} echoes the local token`);
      for (const k of privateKeys) assert(!r.text.includes(k), `${r.where} leaks a private key`);
    }
    assert(seen.length > 30, `checked ${seen.length} responses`);

    // The files in the home: token 0600, daemon.json without secrets.
    assertEquals((await Deno.stat(`${w.bob.home}/local-token`)).mode! & 0o777, 0o600);
    const daemonJson = await Deno.readTextFile(`${w.bob.home}/daemon.json`);
    assert(!daemonJson.includes(token) && !daemonJson.includes(relaySecret), daemonJson);
  } finally {
    await w.close();
  }
});
