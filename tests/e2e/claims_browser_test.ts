/**
 * Issue 17 on the dashboards, in a real browser (Debian's Chromium through playwright-core): the
 * requester's connections show presence dots that flip, an offer shows its candidates, a
 * candidate claims it with the "Claim this offer" form, and the requester sees the lease run.
 */
import { assert } from "../assert.ts";
import { dashboardLoginUrl } from "../../lib/client/dashboard.ts";
import { BOSS, offer, REVIEWERS, startClaimsWorld, view } from "../client/claims_world.ts";
import { eventually } from "../client/world.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();

Deno.test({
  name: "dashboard: presence dots, an offer's candidates, claiming it, the lease countdown",
  ignore: missing !== null,
  // playwright keeps its own pipes and timers to the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const w = await startClaimsWorld();
    const browser = await launchBrowser();
    try {
      browser.context.setDefaultTimeout(10_000);
      const [c1, c2] = w.candidates;
      const [R1, R2] = REVIEWERS as [string, string];
      const boss = await browser.context.newPage();
      const errors = watchErrors(boss);
      await boss.goto(dashboardLoginUrl(w.boss.running.daemon, w.boss.running.url));
      await boss.getByRole("heading", { name: "Overview" }).waitFor();
      await boss.goto(`${w.boss.running.url}/#/connections`);
      for (const r of REVIEWERS) await boss.getByRole("img", { name: `${r} online` }).waitFor();
      await c2!.close();
      await boss.getByRole("img", { name: new RegExp(`^${R2} offline, last seen`) }).waitFor();
      w.candidates[1] = await c2!.start();
      await boss.getByRole("img", { name: `${R2} online` }).waitFor();
      await screenshot(boss, "connections-presence");

      const t = await offer(w.boss, "cap:review", "Review the notes", { lease_seconds: 600 });
      await boss.goto(`${w.boss.running.url}/#/tasks/${t.id}`);
      await boss.getByText(`Offered to ${[...REVIEWERS].sort().join(", ")}`).waitFor();
      await boss.getByText("(not running)").waitFor();

      const cand = await browser.context.newPage();
      const candErrors = watchErrors(cand);
      await eventually(async () => (await view(c1!, t.id)).state === "offered");
      await cand.goto(dashboardLoginUrl(c1!.running.daemon, c1!.running.url));
      await cand.getByRole("heading", { name: "Overview" }).waitFor();
      await cand.goto(`${c1!.running.url}/#/tasks/${t.id}`);
      const form = cand.getByRole("form", { name: `Claim this offer as ${R1}` });
      await form.getByRole("button").click();
      await eventually(async () => (await view(w.boss, t.id)).worker === R1);
      await screenshot(cand, "offer-claimed");

      await boss.reload();
      await boss.getByRole("timer").waitFor();
      assert((await boss.getByRole("timer").textContent())?.endsWith("s left"));
      await screenshot(boss, "offer-lease");
      assert(errors.length === 0 && candErrors.length === 0, [...errors, ...candErrors].join("\n"));
      assert(BOSS.length > 0);
    } finally {
      await browser.close();
      await w.close();
    }
  },
});
