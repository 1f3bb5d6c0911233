/**
 * The daemon's `/setup` and `/connect?invite=…` pages (issue 20 item 5), in Debian's Chromium:
 * a daemon started without a relay gets its credentials from a pasted setup link (saved as
 * `client --setup` saves them), creates its first agent, restarts onto the relay, and connects to
 * another daemon's agent from an invite link; the inviter sees the request. Logged out, both
 * pages show the login and keep their address; a cross-site POST to `/setup` changes nothing.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestDaemon } from "../client/world.ts";
import { startTestRelay } from "../relay/sim.ts";
import { startDaemon } from "../../lib/client/mod.ts";
import { readSavedSetup } from "../../lib/cli/setup_link.ts";
import { setupLinksFor } from "../../lib/cli/setup_page.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { until } from "../wait.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();

/** Carol's daemon in `home`, with the relay credentials saved there (none at first). */
async function startCarol(home: string, port = 0) {
  const saved = readSavedSetup(home);
  const running = await startDaemon({
    home,
    clientId: "carol",
    relayUrl: saved.relay_url,
    relayToken: saved.relay_token,
    port,
    linkBackoff: { minBackoffMs: 20, maxBackoffMs: 200 },
    setupLinks: setupLinksFor(home),
  });
  return { running, api: new TaskferryClient({ url: running.url, token: running.token }) };
}

Deno.test({
  name: "setup pages: /setup saves a link and creates the first agent; /connect sends the request",
  ignore: missing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const relay = await startTestRelay();
    const bob = await startTestDaemon(relay, "bob");
    const home = await Deno.makeTempDir({ prefix: "tf-carol-" });
    let carol = await startCarol(home);
    const browser = await launchBrowser();
    // A page on another origin (same site: another port of 127.0.0.1), for the cross-site POST.
    const evil = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response("<!doctype html><title>evil</title><p>hello</p>", {
          headers: { "content-type": "text/html" },
        }),
    );
    try {
      await bob.api.createAgent({ handle: "@bob/writer" });
      const token = await relay.addClient("carol");
      const host = new URL(relay.url).host;
      const link = `taskferry://${host}/setup#${new URLSearchParams({
        relay: relay.url,
        client_id: "carol",
        token,
      })}`;
      const ctx = browser.context;
      ctx.setDefaultTimeout(10_000);
      const page = await ctx.newPage();
      const errors = watchErrors(page, [/status of 40[13]/]);
      const login = async () => {
        await page.getByLabel("Local API token").fill(carol.running.token);
        await page.getByRole("button", { name: "Log in" }).click();
      };

      await t.step("logged out, /setup shows the login, then the page itself", async () => {
        await page.goto(`${carol.running.url}/setup`);
        await page.getByLabel("Local API token").waitFor();
        assert(page.url().endsWith("/#/setup"), page.url());
        const res = await fetch(`${carol.running.url}/setup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ link }),
        });
        assertEquals(res.status, 401, "no session, no token: refused");
        await res.body?.cancel();
        await login();
        await page.getByRole("heading", { name: "Set up this local TaskFerry" }).waitFor();
        // A link on another site (a relay page, a chat) may open the pages, not more.
        const nav = { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" };
        for (const path of ["/setup", "/connect?invite=x"]) {
          const res = await fetch(`${carol.running.url}${path}`, {
            headers: { ...nav, "sec-fetch-dest": "document" },
            redirect: "manual",
          });
          assertEquals(res.status, 303, path);
          await res.body?.cancel();
        }
        const post = await fetch(`${carol.running.url}/setup`, {
          method: "POST",
          headers: { ...nav, "sec-fetch-dest": "document", "content-type": "application/json" },
          body: JSON.stringify({ link }),
        });
        assertEquals(post.status, 403, "a cross-site POST is not a navigation");
        await post.body?.cancel();
      });

      await t.step("a Go-style address with a token is not used", async () => {
        await page.goto(`${carol.running.url}/setup?client_id=carol&relay_token=${token}`);
        await page.getByRole("alert").filter({ hasText: "carried a relay token" }).waitFor();
        assert(!page.url().includes(token), page.url());
        assertEquals(readSavedSetup(home), {});
      });

      await t.step("a cross-site POST to /setup is refused and changes nothing", async () => {
        const other = await ctx.newPage();
        await other.goto(`http://127.0.0.1:${evil.addr.port}/`);
        const evilLink = `taskferry://evil.example/setup#${new URLSearchParams({
          relay: "https://evil.example",
          client_id: "carol",
          token: "x".repeat(40),
        })}`;
        const status = await other.evaluate(async ([url, body]) => {
          // Same-site (another port of 127.0.0.1), so the session cookie goes along; there is
          // no CSRF token to send. A simple (no-preflight) request, as a form would make.
          try {
            const res = await fetch(url!, {
              method: "POST",
              mode: "no-cors",
              credentials: "include",
              headers: { "content-type": "text/plain" },
              body: body!,
            });
            return res.type;
          } catch (err) {
            return String(err);
          }
        }, [`${carol.running.url}/setup`, JSON.stringify({ link: evilLink })]);
        assert(status === "opaque" || /TypeError/.test(status), status);
        await other.close();
        assertEquals(readSavedSetup(home), {}, "nothing saved");
        // The guard itself, as a request riding the browser's session cookie would reach it
        // (a JSON body): no CSRF token, or a foreign Origin, is refused; with both right, the
        // request gets through to the link checks (this link names another client: 409).
        const cookie = (await ctx.cookies(carol.running.url)).map((c) => `${c.name}=${c.value}`)
          .join("; ");
        const { csrf_token } = await fetch(`${carol.running.url}/auth/session`, {
          headers: { cookie },
        }).then((r) => r.json());
        const post = async (headers: Record<string, string>, body: string) => {
          const res = await fetch(`${carol.running.url}/setup`, {
            method: "POST",
            headers: { cookie, "content-type": "application/json", ...headers },
            body,
          });
          return [res.status, (await res.json()).error?.code];
        };
        const body = JSON.stringify({ link: evilLink });
        const evilOrigin = `http://127.0.0.1:${evil.addr.port}`;
        assertEquals(await post({ origin: evilOrigin }, body), [403, "forbidden"]);
        assertEquals(
          await post({ origin: evilOrigin, "x-csrf-token": csrf_token }, body),
          [403, "forbidden"],
        );
        const dave = link.replace("client_id=carol", "client_id=dave");
        assertEquals(
          await post({ "x-csrf-token": csrf_token }, JSON.stringify({ link: dave })),
          [409, "conflict"],
        );
        assertEquals(readSavedSetup(home), {}, "still nothing saved");
      });

      await t.step(
        "pasting the setup link saves the credentials; then the first agent",
        async () => {
          await page.goto(`${carol.running.url}/setup`);
          await page.getByLabel("Setup link from your relay").fill(link);
          await page.getByRole("button", { name: "Save relay credentials" }).click();
          const saved = page.locator("[data-saved=yes]");
          await saved.waitFor();
          const savedText = await saved.innerText();
          assert(/Restart 'taskferry client'/.test(savedText), savedText);
          assertEquals(readSavedSetup(home), {
            relay_url: relay.url,
            client_id: "carol",
            relay_token: token,
          });
          assertEquals(Deno.statSync(`${home}/relay-credentials.json`).mode! & 0o777, 0o600);
          assertEquals(await page.getByLabel("Setup link from your relay").inputValue(), "");
          assert(!(await page.content()).includes(token), "the token is not shown back");
          await page.getByLabel("Display name (optional)").fill("Carol's agent");
          await page.getByRole("button", { name: "Create agent" }).click();
          await page.locator("[data-created='@carol/agent']").waitFor();
          await screenshot(page, "setup-page-saved");
          assertEquals((await carol.api.agents()).map((a) => a.handle), ["@carol/agent"]);
        },
      );

      await t.step("after a restart the daemon is on the relay with its agent", async () => {
        const port = carol.running.port;
        await page.goto("about:blank"); // the dashboard would log the daemon's absence
        await carol.running.close();
        carol = await startCarol(home, port);
        await until("carol on the relay", async () => (await carol.api.health()).relay.connected);
        await until(
          "@carol/agent registered",
          async () => (await carol.api.agents()).every((a) => a.registered),
        );
      });

      await t.step(
        "/connect?invite=… (logged out again: sessions end with the daemon)",
        async () => {
          const invite = await bob.api.createInvite("@bob/writer");
          await page.goto(`${carol.running.url}/connect?invite=${encodeURIComponent(invite.url)}`);
          await page.getByLabel("Local API token").waitFor();
          assert(page.url().includes("#/connect?invite="), page.url());
          await login();
          await page.getByRole("heading", { name: "Connect with an agent" }).waitFor();
          assertEquals(
            await page.getByLabel("Invite link", { exact: true }).inputValue(),
            invite.url,
          );
          await page.getByRole("button", { name: "Show who it is" }).click();
          const check = page.locator(".fp-check");
          await check.waitFor();
          assertEquals(await check.getAttribute("data-verified"), "link");
          await page.getByLabel("Note to their owner (optional)").fill("hello from the page");
          await page.getByRole("button", { name: "Send connection request" }).click();
          await page.getByRole("status").filter({ hasText: "Request sent from @carol/agent" })
            .waitFor();
          await screenshot(page, "connect-page-sent");
          const { item } = await bob.api.waitForInbox(
            "@bob/writer",
            (m) => m.type === "connection_request",
          );
          assertEquals(item.from, "@carol/agent");
          const conns = await bob.api.connections("@bob/writer");
          assertEquals(conns.map((c) => [c.peer, c.state]), [["@carol/agent", "pending_in"]]);
        },
      );

      assertEquals(errors, []);
    } finally {
      await browser.close();
      await evil.shutdown();
      await carol.running.close().catch(() => {});
      await bob.close();
      await relay.close();
      for (const dir of [home, bob.home, relay.dir]) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    }
  },
});
