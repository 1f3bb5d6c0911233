/**
 * The owner's dashboard and the relay's public pages: HTTP-level checks of login, sessions,
 * CSRF and the pages' headers, then a real browser (Debian's Chromium through playwright-core)
 * against the in-process test world — log in, watch a task flow live, approve a gated task,
 * edit a permission and see it enforced, diff two artifact versions, write as an agent, open
 * an invite from the relay's page, export the audit. Screenshots: test-output/screenshots/.
 */
import { createHash } from "node:crypto";
import type { Page } from "../deps/playwright.ts";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld, type World } from "../client/world.ts";
import { ALICE, BOB } from "../client/helpers.ts";
import { startTestRelay } from "../relay/sim.ts";
import { openCommand } from "../../lib/cli/open.ts";
import { diffStats, lineDiff } from "../../web/dashboard/diff.js";
import { captureLog, chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();
if (missing) console.warn(`browser tests skipped: ${missing}`);

Deno.test("dashboard: the LCS line diff", () => {
  const ops = (a: string, b: string) => lineDiff(a, b).map((r) => r.op + r.text);
  assertEquals(ops("a\nb\nc\n", "a\nx\nc\n"), [" a", "-b", "+x", " c"]);
  assertEquals(ops("", "x\ny"), ["+x", "+y"]);
  assertEquals(ops("x\ny", ""), ["-x", "-y"]);
  assertEquals(ops("same", "same"), [" same"]);
  assertEquals(ops("a\nb\nc\nd", "b\nc\nd\ne"), ["-a", " b", " c", " d", "+e"]);
  const rows = lineDiff("1\n2\n3\n4\n5", "1\n3\n4\nfour\n5\n6");
  assertEquals(diffStats(rows), { added: 2, removed: 1 });
  assertEquals(rows.filter((r) => r.op === " ").map((r) => [r.a, r.b]), [[1, 1], [3, 2], [4, 3], [
    5,
    5,
  ]]);
});

Deno.test("dashboard: page headers, token login, one-time links, cookie, CSRF and origin checks", async () => {
  const w = await startWorld();
  try {
    const base = w.alice.running.url;
    const page = await fetch(base + "/");
    const html = await page.text();
    assertEquals(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert(!csp.includes("unsafe-inline") && csp.includes("default-src 'none'"), csp);
    // The only inline script is the import map, allowed by its hash.
    const map = /<script type="importmap">(.*?)<\/script>/.exec(html)![1]!;
    const hash = createHash("sha256").update(map).digest("base64");
    assert(csp.includes(`'sha256-${hash}'`), "the CSP names the import map's hash");
    assertEquals(html.match(/<script(?![^>]*\bsrc=)(?![^>]*type="importmap")[^>]*>/g) ?? [], []);
    assertEquals(page.headers.get("access-control-allow-origin"), null);
    for (
      const [path, type] of [
        ["/assets/vendor/preact.js", "text/javascript"],
        ["/assets/vendor/hooks.js", "text/javascript"],
        ["/assets/vendor/htm.js", "text/javascript"],
        ["/assets/dashboard/app.js", "text/javascript"],
        ["/assets/app.css", "text/css"],
      ]
    ) {
      const res = await fetch(base + path);
      const body = await res.text();
      assertEquals([res.status, res.headers.get("content-type")?.split(";")[0]], [200, type], path);
      assert(!body.includes(w.alice.relayToken) && !body.includes(w.alice.token), path);
    }
    assertEquals(
      await fetch(base + "/assets/nope.js").then((r) => (r.body?.cancel(), r.status)),
      404,
    );

    const login = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(base + "/login", {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
        redirect: "manual",
      });
    const bad = await login({ token: "tfl_wrong" });
    assertEquals([bad.status, (await bad.json()).error.code], [401, "unauthorized"]);
    assertEquals(bad.headers.get("set-cookie"), null);
    const crossOrigin = await login({ token: w.alice.token }, { origin: "http://127.0.0.1:1" });
    assertEquals([crossOrigin.status, (await crossOrigin.json()).error.code], [403, "forbidden"]);

    const ok = await login({ token: w.alice.token });
    const okBody = await ok.json();
    const setCookie = ok.headers.get("set-cookie") ?? "";
    assertEquals(ok.status, 200);
    assert(/; HttpOnly/.test(setCookie) && /; SameSite=Strict/.test(setCookie), setCookie);
    assert(!JSON.stringify(okBody).includes(w.alice.token), "the token is not echoed");
    const cookie = setCookie.split(";")[0]!;
    const csrf = okBody.csrf_token as string;
    assert(csrf.length >= 32, "a CSRF token per session");

    const call = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
      fetch(base + path, { ...init, headers: { cookie, ...init.headers } });
    const session = await call("/auth/session").then((r) => r.json());
    assertEquals(session, { authenticated: true, csrf_token: csrf });
    assertEquals((await call("/v1/health").then((r) => r.json())).client_id, "alice");
    const json = { "content-type": "application/json" };
    const create = (headers: Record<string, string>, name: string) =>
      call("/v1/agents", {
        method: "POST",
        headers: { ...json, ...headers },
        body: JSON.stringify({ handle: `@alice/${name}` }),
      });
    const noCsrf = await create({}, "x1");
    assertEquals([noCsrf.status, (await noCsrf.json()).error.code], [403, "forbidden"]);
    const wrongCsrf = await create({ "x-csrf-token": "nope" }, "x2");
    assertEquals([wrongCsrf.status, (await wrongCsrf.json()).error.code], [403, "forbidden"]);
    const foreign = await create({ "x-csrf-token": csrf, origin: "http://127.0.0.1:9" }, "x3");
    assertEquals([foreign.status, (await foreign.json()).error.code], [403, "forbidden"]);
    const created = await create({ "x-csrf-token": csrf }, "helper");
    assertEquals(created.status, 201, await created.clone().text());
    await created.body?.cancel();
    assertEquals((await w.alice.api.agents()).map((a) => a.handle).sort(), [
      "@alice/helper",
      ALICE,
    ]);

    // A session cannot mint login links; the bearer token can (what `taskferry open` does).
    const mintByCookie = await call("/v1/dashboard/login-links", {
      method: "POST",
      headers: { ...json, "x-csrf-token": csrf },
      body: "{}",
    });
    assertEquals([mintByCookie.status, (await mintByCookie.json()).error.code], [
      401,
      "unauthorized",
    ]);
    const printed = await captureLog(async () =>
      assertEquals(
        await openCommand.run(["--no-browser", "--json", "--url", base, "--token", w.alice.token]),
        0,
      )
    );
    const link = JSON.parse(printed).url as string;
    assert(link.startsWith(`${base}/login/`), link);
    const first = await fetch(link, { redirect: "manual" });
    assertEquals([first.status, first.headers.get("location")], [303, "/"]);
    assert(/HttpOnly/.test(first.headers.get("set-cookie") ?? ""), "the link sets the cookie");
    const again = await fetch(link, { redirect: "manual" });
    assertEquals([again.status, again.headers.get("location")], [
      303,
      "/#/login?error=link_invalid",
    ]);
    assertEquals(again.headers.get("set-cookie"), null, "a link works once");

    // Form login (no JavaScript needed) redirects to the dashboard.
    const form = await fetch(base + "/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: w.alice.token }).toString(),
      redirect: "manual",
    });
    assertEquals([form.status, form.headers.get("location")], [303, "/"]);
    assert(/HttpOnly/.test(form.headers.get("set-cookie") ?? ""));

    // Another daemon on this host does not accept alice's session.
    const atBob = await fetch(w.bob.running.url + "/v1/health", { headers: { cookie } });
    assertEquals([atBob.status, (await atBob.json()).error.code], [401, "unauthorized"]);

    // Cross-site: a link may open the page, nothing else goes through.
    const nav = {
      "sec-fetch-site": "cross-site",
      "sec-fetch-mode": "navigate",
      "sec-fetch-dest": "document",
    };
    const opened = await fetch(base + "/", { headers: nav });
    assertEquals(opened.status, 200);
    await opened.body?.cancel();
    for (const path of ["/auth/session", "/v1/health", "/login/whatever"]) {
      const r = await call(path, { headers: nav });
      assertEquals([r.status, (await r.json()).error.code], [403, "forbidden"], path);
    }

    // Logout ends the session (with its CSRF token).
    const outNoCsrf = await call("/logout", { method: "POST", headers: json, body: "{}" });
    assertEquals(outNoCsrf.status, 403);
    await outNoCsrf.body?.cancel();
    const out = await call("/logout", {
      method: "POST",
      headers: { ...json, "x-csrf-token": csrf },
      body: "{}",
    });
    assertEquals(out.status, 200);
    await out.body?.cancel();
    const after = await call("/v1/health");
    assertEquals([after.status, (await after.json()).error.code], [401, "unauthorized"]);
  } finally {
    await w.close();
  }
});

Deno.test("relay pages: headers, stats, invite errors, closed signup", async () => {
  const relay = await startTestRelay();
  try {
    for (const path of ["/", "/community", "/status", "/invite/AAAAAAAAAAAA", "/signup"]) {
      const res = await fetch(relay.url + path);
      const html = await res.text();
      assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8", path);
      assert(
        (res.headers.get("content-security-policy") ?? "").includes("default-src 'none'"),
        path,
      );
      assert(html.includes('<script type="module" src="/assets/relay/pages.js">'), path);
      const expected = path.startsWith("/invite/") || path === "/signup" ? 404 : 200;
      assertEquals(res.status, expected, path);
    }
    const invite = await fetch(relay.url + "/invite/AAAAAAAAAAAA").then((r) => r.text());
    const data = JSON.parse(
      /<script type="application\/json" id="tf-data">(.*?)<\/script>/.exec(invite)![1]!,
    );
    assertEquals(data.error.code, "invite_not_found");
    const stats = await fetch(relay.url + "/v1/stats").then((r) => r.json());
    for (
      const k of [
        "connected_clients",
        "clients",
        "agents",
        "queue_depth",
        "accepted_total",
        "delivered_total",
      ]
    ) {
      assertEquals(typeof stats[k], "number", k);
    }
    assertEquals(stats.public_url, relay.url);
    assert(Array.isArray(stats.samples));
    const asset = await fetch(relay.url + "/assets/relay/pages.js");
    assertEquals([asset.status, asset.headers.get("content-type")], [
      200,
      "text/javascript; charset=utf-8",
    ]);
    await asset.body?.cancel();
  } finally {
    await relay.close();
    await Deno.remove(relay.dir, { recursive: true }).catch(() => {});
  }
});

/** Brings a tab to the front: background tabs throttle rendering, which slows every click. */
async function on(page: Page): Promise<Page> {
  await page.bringToFront();
  return page;
}

/** Waits for `text` inside `selector`. */
async function waitText(page: Page, selector: string, text: string | RegExp) {
  await page.locator(selector, { hasText: text }).first().waitFor();
}

Deno.test({
  name: "dashboard and relay pages in a real browser",
  ignore: missing !== null,
  // playwright keeps its own pipes and timers to the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w: World = await startWorld();
    const browser = await launchBrowser();
    const signupRelay = await startTestRelay({ openSignup: true });
    try {
      const { alice, bob } = w;
      const ctx = browser.context;
      ctx.setDefaultTimeout(10_000);
      const a = await ctx.newPage();
      const b = await ctx.newPage();
      const r = await ctx.newPage();
      // The wrong-token attempt answers 401, which the browser logs; nothing else may fail.
      const errors = [a, b, r].flatMap((p) => watchErrors(p, [/status of 401/]));

      await t.step("log in with the token form", async () => {
        await on(a);
        await a.goto(alice.running.url + "/");
        await a.getByLabel("Local API token").waitFor();
        await screenshot(a, "login");
        await a.getByLabel("Local API token").fill("tfl_wrong");
        await a.getByRole("button", { name: "Log in" }).click();
        await waitText(a, ".error", "unauthorized");
        await a.getByLabel("Local API token").fill(alice.token);
        await a.getByRole("button", { name: "Log in" }).click();
        await a.getByRole("heading", { name: "Overview" }).waitFor();
        const [agent] = await alice.api.agents();
        await waitText(a, "table", agent!.fingerprint);
        await waitText(a, ".status", "relay connected");
        const cookies = (await ctx.cookies(alice.running.url)).filter((c) =>
          c.name.startsWith("taskferry_session_")
        );
        assertEquals(cookies.map((c) => [c.httpOnly, c.sameSite]), [[true, "Strict"]]);
        assert(
          !(await a.content()).includes(alice.relayToken),
          "the page never shows the relay token",
        );
        await screenshot(a, "overview");
        await a.emulateMedia({ colorScheme: "dark" });
        await screenshot(a, "overview-dark");
        await a.emulateMedia({ colorScheme: "light" });
        await a.setViewportSize({ width: 390, height: 844 });
        const overflow = await a.evaluate<number>(
          "document.documentElement.scrollWidth - innerWidth",
        );
        assert(overflow <= 1, `phone width: ${overflow}px of horizontal overflow`);
        await screenshot(a, "overview-phone");
        await a.setViewportSize({ width: 1200, height: 860 });
        // Keyboard: a focused nav link opens its view and focus moves to the content.
        await a.getByRole("link", { name: "Tasks", exact: true }).focus();
        await a.keyboard.press("Enter");
        await a.getByRole("heading", { name: "Tasks", exact: true }).waitFor();
        // Focus moves after the view renders (an effect): wait for it rather than race it. Polled
        // from here: waitForFunction's in-page polling evaluates a string, which the CSP forbids.
        await eventually(async () =>
          (await a.evaluate<string>("document.activeElement?.id")) === "main"
        );
        assertEquals(await a.evaluate<string>("document.activeElement?.id"), "main");
      });

      await t.step("log in with a one-time link from `taskferry open`", async () => {
        await on(b);
        const out = await captureLog(() =>
          openCommand.run([
            "--no-browser",
            "--json",
            "--url",
            bob.running.url,
            "--token",
            bob.token,
          ])
        );
        await b.goto(JSON.parse(out).url);
        await b.getByRole("heading", { name: "Overview" }).waitFor();
        assertEquals(b.url(), bob.running.url + "/");
        await waitText(b, "table", BOB);
      });

      let taskId = "";
      await t.step("a task flow progresses live; the diff between v1 and v2", async () => {
        await on(a);
        await a.goto(alice.running.url + "/#/tasks");
        await waitText(a, ".empty", "No tasks yet");
        await a.evaluate(
          () => ((globalThis as unknown as Record<string, unknown>).__noReload = true),
        );
        const { task } = await alice.api.createTask({
          from: ALICE,
          to: BOB,
          title: "Ferry timetable",
          instructions: "List the morning crossings, one per line.",
          max_revisions: 2,
        });
        taskId = task.id;
        await a.getByRole("link", { name: "Ferry timetable" }).click();
        await waitText(a, ".meta .badge", "requested");
        await bob.api.acceptTask(task.id, { note: "On it" });
        await waitText(a, ".timeline", "task accept");
        await bob.api.submitArtifact(task.id, {
          content: "08:00 Dock A\n09:00 Dock B\n10:00 Dock C\n",
        });
        await waitText(a, "details.artifact summary", "v1");
        await waitText(a, ".meta .badge", "submitted");
        // The requester's role allows a revision request: send it from the dashboard.
        await a.getByLabel("Feedback").fill("Dock B leaves at half past; add the 11:00.");
        await a.getByRole("button", { name: "Request revision" }).click();
        await waitText(a, ".meta .badge", "revision requested");
        await eventually(async () =>
          (await bob.api.task(task.id)).task.state === "revision_requested"
        );
        await bob.api.submitArtifact(task.id, {
          content: "08:00 Dock A\n09:30 Dock B\n10:00 Dock C\n11:00 Dock D\n",
          note: "fixed",
        });
        await a.getByRole("heading", { name: "Compare versions" }).waitFor();
        await waitText(a, "table.diff tr.add", "11:00 Dock D");
        const del = await a.locator("table.diff tr.del").allTextContents();
        const add = await a.locator("table.diff tr.add").allTextContents();
        assertEquals(del.length, 1);
        assert(del[0]!.includes("09:00 Dock B"), del[0]);
        assertEquals(add.length, 2);
        assert(add[0]!.includes("09:30 Dock B"), add[0]);
        await waitText(a, ".timeline", "by @bob/writer v2");
        await a.getByRole("button", { name: "Complete task" }).click();
        await waitText(a, ".meta .badge", "completed");
        await eventually(async () => (await bob.api.task(task.id)).task.state === "completed");
        assert(
          await a.evaluate(() => (globalThis as unknown as Record<string, unknown>).__noReload),
          "no reload",
        );
        await screenshot(a, "task");
        await a.goto(alice.running.url + "/#/tasks");
        await a.getByRole("link", { name: "Ferry timetable" }).waitFor();
        await screenshot(a, "tasks");
      });

      await t.step("hold tasks for approval, then approve a gated task", async () => {
        await on(b);
        await b.goto(bob.running.url + "/#/connections");
        // One line per connection; the permission editor opens on demand.
        await b.getByRole("button", { name: "Permissions", exact: true }).click();
        await b.getByRole("checkbox", { name: "Hold their tasks for my approval" }).check();
        await b.getByRole("button", { name: "Save permissions" }).click();
        await waitText(b, "form.perm", "Saved");
        assertEquals((await bob.api.connections(BOB))[0]!.permissions.require_human_gate, true);
        const { task } = await alice.api.createTask({
          from: ALICE,
          to: BOB,
          title: "Gated haiku",
          instructions: "Wait",
        });
        await b.goto(bob.running.url + "/#/tasks");
        await waitText(b, "table.tasks tr", /Gated haiku.*awaiting your approval/);
        assert(
          !(await bob.api.tasks({ agent: BOB })).some((x) => x.id === task.id),
          "hidden from the agent",
        );
        await b.getByRole("link", { name: "Gated haiku" }).click();
        await b.getByRole("heading", { name: "Awaiting your approval" }).waitFor();
        await screenshot(b, "task-gated");
        await b.getByRole("button", { name: "Approve task" }).click();
        await waitText(b, ".meta", "gate approved");
        assert(
          (await bob.api.tasks({ agent: BOB })).some((x) => x.id === task.id),
          "visible once approved",
        );
      });

      await t.step("write as a local agent from the composer", async () => {
        await on(a);
        await a.goto(
          alice.running.url +
            `/#/conversations?agent=${encodeURIComponent(ALICE)}&peer=${encodeURIComponent(BOB)}`,
        );
        await a.getByLabel(`Write as ${ALICE} to ${BOB}`).fill("Hello from the dashboard");
        await a.getByRole("button", { name: "Send", exact: true }).click();
        await waitText(a, ".msg.out", "Hello from the dashboard");
        await waitText(a, ".msg.out .badge", "delivered");
        const got = await bob.api.waitForInbox(
          BOB,
          (m) => m.type === "message" && m.payload.text === "Hello from the dashboard",
          { timeoutMs: 10_000 },
        );
        assertEquals(got.item.from, ALICE);
      });

      await t.step("edit a permission and see it enforced", async () => {
        await on(b);
        await b.goto(bob.running.url + "/#/connections");
        await b.getByRole("button", { name: "Permissions", exact: true }).click();
        await b.getByRole("checkbox", { name: "May send messages" }).uncheck();
        await b.getByRole("button", { name: "Save permissions" }).click();
        await waitText(b, "form.perm", "Saved");
        await screenshot(b, "connections");
        const sent = await alice.api.send({ from: ALICE, to: BOB, text: "Are you there?" });
        const failed = await eventually(async () => {
          const m = await alice.api.message(sent.message.id);
          return m.state === "failed" ? m : null;
        });
        assert(/^permission_denied/.test(failed.state_reason ?? ""), failed.state_reason);
        // The owner sees it in the thread too, with the reason.
        await on(a);
        await waitText(a, ".msg.out", /Are you there\?.*failed.*permission_denied/);
        await screenshot(a, "conversations");
      });

      await t.step(
        "invite: create it, preview it on the relay page, open it in a dashboard",
        async () => {
          await on(b);
          await b.goto(bob.running.url + "/#/invites");
          await b.getByRole("button", { name: "Create invite link" }).click();
          const link = await b.getByLabel(`Invite link for ${BOB}`).inputValue();
          assert(link.startsWith("taskferry://") && link.includes("#fp="), link);
          const code = /\/invite\/([A-Za-z0-9_-]+)/.exec(link)![1]!;
          const [agent] = await bob.api.agents();

          // The fingerprint rides in the fragment, from the inviter; the relay never adds it.
          await (await on(r)).goto(`${w.relay.url}/invite/${code}#fp=${agent!.fingerprint}`);
          await r.getByRole("heading", { name: `You are invited to connect with ${BOB}` })
            .waitFor();
          await waitText(r, ".fp", agent!.fingerprint);
          const href = await r.getByRole("link", { name: "Open in TaskFerry" }).getAttribute(
            "href",
          );
          assertEquals(href, link);
          await r.getByLabel("Your daemon's port on 127.0.0.1").fill(String(alice.port));
          await screenshot(r, "relay-invite");
          await r.getByRole("button", { name: "Open in my dashboard" }).click();
          await r.waitForURL((u) =>
            u.port === String(alice.port) && u.hash.startsWith("#/invites?open=")
          );
          assertEquals(await r.getByLabel("Invite link", { exact: true }).inputValue(), link);
          await r.getByRole("button", { name: "Show who it is" }).click();
          await waitText(r, ".result", BOB);
          await waitText(r, ".result", "matches the link");
          await waitText(r, ".result .fp", agent!.fingerprint);
          await screenshot(r, "invites");
        },
      );

      await t.step("a changed peer key is held until the owner accepts it", async () => {
        await on(a);
        await a.goto(alice.running.url + "/#/connections");
        await a.getByRole("heading", { name: "Connected" }).waitFor();
        const rotated = await bob.running.daemon.rotateAgentKeys(BOB);
        const sent = await bob.api.send({ from: BOB, to: ALICE, text: "new key, same writer" });
        await a.getByRole("heading", { name: "Key warnings" }).waitFor();
        // The browser computes the presented key's fingerprint the way the daemon pins keys.
        await waitText(a, ".warning", `New fingerprint ${rotated.fingerprint}`);
        await screenshot(a, "connections-key-warning");
        await a.getByRole("button", { name: "Accept new key" }).click();
        await a.getByRole("heading", { name: "Key warnings" }).waitFor({ state: "detached" });
        const got = await alice.api.waitForInbox(ALICE, (m) => m.id === sent.message.id, {
          timeoutMs: 10_000,
        });
        assertEquals(got.item.payload.text, "new key, same writer");
      });

      await t.step("audit: the event history, exported as JSON", async () => {
        await on(a);
        await a.goto(alice.running.url + `/#/audit`);
        await waitText(a, "table.audit", "artifact submit");
        const [download] = await Promise.all([
          a.waitForEvent("download"),
          a.getByRole("button", { name: "Download JSON" }).click(),
        ]);
        const exported = JSON.parse(await Deno.readTextFile((await download.path())!));
        const audit = await alice.api.request<{ events: unknown[] }>("GET", "/v1/audit");
        assertEquals(exported.events.length, audit.events.length);
        assert(exported.events.some((e: { task_id: string }) => e.task_id === taskId));
        await screenshot(a, "audit");
      });

      await t.step("relay pages: home, community, status, signup", async () => {
        await on(r);
        await r.goto(w.relay.url + "/");
        await waitText(r, "dd[data-count=connected_clients]", "2");
        await screenshot(r, "relay-home");
        await r.goto(w.relay.url + "/community");
        await waitText(r, ".handle", BOB);
        await screenshot(r, "relay-community");
        await r.goto(w.relay.url + "/status");
        await r.locator("figure.chart svg polyline").first().waitFor({ timeout: 15_000 });
        await screenshot(r, "relay-status");
        await r.goto(w.relay.url + "/signup");
        await r.getByRole("heading", { name: "Signup is closed" }).waitFor();
        await r.goto(signupRelay.url + "/signup");
        await r.getByLabel("Account name").fill("carol");
        await r.getByRole("button", { name: "Create account" }).click();
        await r.getByRole("heading", { name: "Account carol created" }).waitFor();
        assert((await r.getByLabel("Setup link").inputValue()).startsWith("taskferry://"));
        await screenshot(r, "relay-signup");
      });

      assertEquals(errors, [], "no script errors or CSP violations");
    } finally {
      await browser.close();
      await signupRelay.close().catch(() => {});
      await Deno.remove(signupRelay.dir, { recursive: true }).catch(() => {});
      await w.close();
    }
  },
});
