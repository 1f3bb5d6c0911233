/**
 * Peer content cannot break the dashboard (issue 13 item 13): a peer sends two ~600 KB artifact
 * versions that differ on every 50th line, a 300,000-character message and JSON nested 60
 * levels deep. The pages must render them clipped with "Show all", keep the diff bounded, and
 * never block the main thread for long: Chromium's Long Tasks API reports every task over 50 ms,
 * and the test bounds the longest loosely (the machine is shared) and prints the figures.
 */
import type { Page } from "playwright-core";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld, type World } from "../client/world.ts";
import { ALICE, BOB } from "../client/helpers.ts";
import { dashboardLoginUrl } from "../../lib/client/dashboard.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();
/** Loose bound on one main-thread task; the aim is ~100 ms, a shared 2-core runner is slower. */
const MAX_TASK_MS = 400;
const LINES = 20_000;

/** Records long tasks from the first script of every document on. */
const OBSERVE_LONG_TASKS = `
  globalThis.__long = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) globalThis.__long.push(Math.round(e.duration));
  }).observe({ type: "longtask", buffered: true });
`;

async function longTasks(page: Page): Promise<number[]> {
  // Two animation frames: whatever the last update scheduled has run.
  await page.evaluate<void>(
    "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))",
  );
  return await page.evaluate<number[]>("globalThis.__long.splice(0)");
}

function artifact(version: number): string {
  const out: string[] = [];
  for (let i = 0; i < LINES; i++) {
    out.push(
      i % 50 === 0 && version > 1
        ? `line ${i} changed in v${version}`
        : `line ${i} ${"x".repeat(20)}`,
    );
  }
  return out.join("\n") + "\n";
}

function nested(depth: number): unknown {
  let v: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) v = i % 2 ? { k: v } : [v];
  return v;
}

Deno.test({
  name: "dashboard: huge and deeply nested peer content renders clipped without freezing",
  ignore: missing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w: World = await startWorld();
    const browser = await launchBrowser();
    try {
      const { alice, bob } = w;
      const page = await browser.context.newPage();
      browser.context.setDefaultTimeout(20_000);
      const errors = watchErrors(page);
      await page.addInitScript({ content: OBSERVE_LONG_TASKS });
      await page.goto(dashboardLoginUrl(alice.running.daemon, alice.running.url));
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      // The probe works: a 120 ms busy loop on the page's main thread is reported.
      await page.evaluate<void>(
        "new Promise((r) => setTimeout(() => { const end = performance.now() + 120; while (performance.now() < end); r(); }, 0))",
      );
      const probe = await longTasks(page);
      assert(probe.some((d) => d >= 100), `the long-task probe saw ${JSON.stringify(probe)}`);

      const { task } = await alice.api.createTask({
        from: ALICE,
        to: BOB,
        title: "Big one " + "t".repeat(190),
        instructions: "Write a lot.\n".repeat(2_000),
      });
      await eventually(async () => (await bob.api.tasks()).some((x) => x.id === task.id));
      await bob.api.acceptTask(task.id);
      await bob.api.submitArtifact(task.id, { content: artifact(1) });
      await eventually(async () => (await alice.api.task(task.id)).task.state === "submitted");
      await alice.api.requestRevision(task.id, { feedback: "more" });
      await eventually(async () =>
        (await bob.api.task(task.id)).task.state === "revision_requested"
      );
      await bob.api.submitArtifact(task.id, { content: artifact(2) });
      await eventually(async () => (await alice.api.task(task.id)).artifacts.length === 2);
      await bob.api.send({ from: BOB, to: ALICE, text: "long ".repeat(60_000) });
      await bob.api.send({ from: BOB, to: ALICE, data: nested(60) }); // deepest the API takes is 64
      await eventually(async () =>
        (await alice.api.request<{ messages: unknown[] }>(
          "GET",
          `/v1/messages?agent=${encodeURIComponent(ALICE)}&type=message`,
        )).messages.length >= 2
      );

      await t.step("task page: clipped artifacts, bounded diff, no long freeze", async () => {
        await longTasks(page);
        const started = performance.now();
        await page.goto(`${alice.running.url}/#/tasks/${task.id}`);
        await page.getByRole("heading", { name: "Compare versions" }).waitFor();
        const firstRender = Math.round(performance.now() - started);
        const long = await longTasks(page);
        const rows = await page.locator("table.diff tbody tr").count();
        assert(rows <= 300, `the diff table shows ${rows} rows`);
        await page.getByText(/Showing 300 of \d+ lines/).waitFor();
        const showAll = page.locator("details.artifact[open] .clipped button");
        assertEquals(await showAll.count(), 1, "the open artifact is clipped");
        // A live update (a message state change reloads the task) stays short too.
        const reloaded = page.waitForResponse((r) => r.url().endsWith(`/v1/tasks/${task.id}`));
        await alice.api.send({ from: ALICE, to: BOB, text: "ping" });
        await reloaded;
        const update = await longTasks(page);
        console.log(
          `task page: first render ${firstRender} ms wall; long tasks ${
            JSON.stringify(long)
          } ms; ` +
            `after a live update ${JSON.stringify(update)} ms`,
        );
        const worst = Math.max(0, ...long, ...update);
        assert(worst < MAX_TASK_MS, `a ${worst} ms main-thread task`);
        await screenshot(page, "task-huge");
        // "Show all" is the owner's choice and still works.
        await showAll.click();
        await page.locator("details.artifact[open] pre", { hasText: `line ${LINES - 1} ` })
          .waitFor();
      });

      await t.step("conversation: long text and deep JSON clipped, no crash", async () => {
        await longTasks(page);
        await page.goto(
          `${alice.running.url}/#/conversations?agent=${encodeURIComponent(ALICE)}&peer=${
            encodeURIComponent(BOB)
          }`,
        );
        await page.locator(".msg .prose-text.clipped").first().waitFor();
        const text = await page.locator(".msg .prose-text.clipped").first().innerText();
        assert(text.length < 1_000 && /Show all \(293 k characters\)/.test(text), text.slice(-200));
        await page.locator(".msg .clipped pre", { hasText: /[[{]…[\]}]/ }).first().waitFor();
        const long = await longTasks(page);
        console.log(`conversation: long tasks ${JSON.stringify(long)} ms`);
        assert(Math.max(0, ...long) < MAX_TASK_MS, `long tasks ${long}`);
        await screenshot(page, "conversation-huge");
        // The deep JSON's "Show all" degrades to a note instead of a stack overflow.
        await page.locator(".msg .clipped button", { hasText: "Show all" }).last().click();
        await page.locator(".msg pre").last().waitFor();
      });

      assertEquals(errors, [], "no script errors");
    } finally {
      await browser.close();
      await w.close();
    }
  },
});
