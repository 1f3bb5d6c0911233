/**
 * Issue 15 on the requester's dashboard, in a real browser (Debian's Chromium through
 * playwright-core): the task page's progress pane fills live from `task_progress` events, the
 * task list shows a running task's latest line, and a worker's `task_fail` shows its reason.
 */
import { assert } from "../assert.ts";
import { startWorld } from "../client/world.ts";
import { ALICE, BOB } from "../client/helpers.ts";
import { dashboardLoginUrl } from "../../lib/client/dashboard.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();

Deno.test({
  name: "dashboard: live progress pane, last line in the list, the failure's reason",
  ignore: missing !== null,
  // playwright keeps its own pipes and timers to the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const w = await startWorld();
    const browser = await launchBrowser();
    try {
      const { alice, bob } = w;
      browser.context.setDefaultTimeout(10_000);
      const page = await browser.context.newPage();
      const errors = watchErrors(page);
      const created = await alice.api.createTask({
        from: ALICE,
        to: BOB,
        title: "Watch me work",
        instructions: "Report as you go.",
      });
      const id = created.task.id;
      await bob.api.waitForInbox(BOB, (m) => m.task_id === id);
      await bob.api.acceptTask(id);
      await alice.api.waitForTask(id, { states: ["accepted"] });

      await page.goto(dashboardLoginUrl(alice.running.daemon, alice.running.url));
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await page.goto(`${alice.running.url}/#/tasks/${id}`);
      await page.getByRole("heading", { name: "Progress" }).waitFor();
      await page.getByText("No progress reported yet.").waitFor();

      // Lines appear as they are reported, without reloading the page.
      await page.evaluate(() => ((globalThis as Record<string, unknown>).__sameDocument = true));
      await bob.api.progress(id, "compiling the sources", { queue_position: 1 });
      await page.getByRole("log", { name: "Progress lines" }).getByText("compiling the sources")
        .waitFor();
      await bob.api.progress(id, "running the tests");
      await page.getByRole("log").getByText("running the tests").waitFor();
      assert(await page.getByRole("log").getByText("queue #1").isVisible());
      assert(await page.evaluate(() => (globalThis as Record<string, unknown>).__sameDocument));
      await screenshot(page, "task-progress");

      // The list shows the running task's latest line.
      await page.goto(`${alice.running.url}/#/tasks`);
      await page.locator(".progress-last", { hasText: "running the tests" }).waitFor();

      // The worker gives up: the task page shows why.
      await page.goto(`${alice.running.url}/#/tasks/${id}`);
      await bob.api.failTask(id, "the test suite crashed: exit status 134", "exit_134");
      await page.getByRole("heading", { name: "The worker failed this task" }).waitFor();
      await page.getByText("the test suite crashed: exit status 134", { exact: true }).waitFor();
      await page.getByText("exit_134").waitFor();
      await screenshot(page, "task-failed");
      assert(errors.length === 0, errors.join("\n"));
    } finally {
      await browser.close();
      await w.close();
    }
  },
});
