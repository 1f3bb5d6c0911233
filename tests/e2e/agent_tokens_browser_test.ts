/**
 * The dashboard's agent tokens (design §14) in a real browser: the owner issues a token for an
 * agent (shown once), sees it listed with created / last used, and revokes it — after which the
 * token is refused at once. Screenshot: test-output/screenshots/agent-tokens.png.
 */
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld } from "../client/world.ts";
import { BOB } from "../client/helpers.ts";
import { dashboardLoginUrl } from "../../lib/client/mod.ts";
import { ApiError, TaskferryClient } from "../../lib/sdk/mod.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();

Deno.test({
  name: "dashboard: issue an agent token (shown once), see its last use, revoke it",
  ignore: missing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const w = await startWorld();
    const browser = await launchBrowser();
    try {
      const { bob } = w;
      const page = await browser.context.newPage();
      page.setDefaultTimeout(10_000);
      const errors = watchErrors(page, [/status of 401/]);
      await page.goto(dashboardLoginUrl(bob.running.daemon, bob.running.url));
      await page.getByRole("heading", { name: "Agent tokens" }).waitFor();
      await page.getByLabel("label").fill("browser runtime");
      await page.getByRole("button", { name: "Issue token" }).click();
      const token = (await page.locator("[data-agent-token]").textContent())!.trim();
      assert(token.startsWith("tfa_"), token);
      const agent = new TaskferryClient({ url: bob.running.url, token });
      assertEquals((await agent.agents()).map((a) => a.handle), [BOB]);
      const [listed] = await bob.api.agentTokens();
      await page.getByRole("button", { name: "Done" }).click();
      // The list shows the token's id and label, never the secret, and its last use.
      await page.locator(`[data-agent-tokens] >> text=${listed!.id}`).waitFor();
      await page.locator("[data-agent-tokens] >> text=browser runtime").waitFor();
      assert(!(await page.content()).includes(token), "the secret is gone from the page");
      await page.reload();
      await page.locator(`[data-agent-tokens] >> text=${listed!.id}`).waitFor();
      assert(
        !(await page.locator("[data-agent-tokens]").textContent())!.includes("never"),
        "last use shown",
      );
      await screenshot(page, "agent-tokens");
      page.once("dialog", (d) => void d.accept());
      await page.getByRole("button", { name: "Revoke" }).click();
      await page.getByText("No agent tokens yet.").waitFor();
      await eventually(async () => {
        try {
          await agent.health();
          return false;
        } catch (err) {
          return err instanceof ApiError && err.code === "unauthorized";
        }
      });
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await w.close();
    }
  },
});
