/**
 * Pictures (issue 22): the relay's status charts over a bounded history longer than 3 minutes,
 * and the dashboard's activity view computed from the loopback API. Axes, legends and hover
 * values must exist, values must move when traffic flows, and both fit a phone. Screenshots:
 * test-output/screenshots/. The relay history is filled through its injectable clock, so no
 * test waits for real minutes to pass.
 */
import { Hono } from "hono";
import type { Page } from "../deps/playwright.ts";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld, type World } from "../client/world.ts";
import { ALICE, BOB } from "../client/helpers.ts";
import { mountRelayPages } from "../../lib/relay/pages.ts";
import {
  COARSE_KEEP,
  FINE_KEEP,
  type Sample,
  StatusHistory,
} from "../../lib/relay/status_history.ts";
import { errorHandler, notFoundHandler } from "../../lib/http/mod.ts";
import { logger } from "../../lib/log.ts";
import { dashboardLoginUrl } from "../../lib/client/dashboard.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();
const MINUTE = 60_000;

function sample(at: number, accepted: number): Sample {
  return { at, accepted, delivered: accepted, queue_depth: 0, connected_clients: 1 };
}

Deno.test("relay status history: two bounded tiers, rates per minute in both", () => {
  const h = new StatusHistory();
  const start = Date.UTC(2026, 0, 1);
  // Two hours at 5 s, 10 envelopes per sample: 120 per minute.
  for (let i = 0; i <= 1440; i++) h.add(sample(start + i * 5_000, i * 10));
  assertEquals(h.fine.length, FINE_KEEP);
  assertEquals(h.coarse.length, 121);
  const fine = h.series("15m");
  assert(fine.length >= 170 && fine.every((p) => p.accepted_per_minute === 120), "fine rates");
  const hour = h.series("1h");
  const span = Date.parse(hour.at(-1)!.at) - Date.parse(hour[0]!.at);
  assert(span >= 58 * MINUTE, `1h covers ${span / MINUTE} min`);
  assert(hour.every((p) => p.accepted_per_minute === 120), "coarse rates in the same unit");
  assertEquals(h.series("24h").length, 120);
  // Bounded: a day and a half of samples keeps 24 hours.
  for (let i = 1441; i <= 1441 + 36 * 720; i++) h.add(sample(start + i * 5_000, i * 10));
  assertEquals([h.fine.length, h.coarse.length], [FINE_KEEP, COARSE_KEEP]);
  // A sample from the past is ignored.
  const before = h.fine.length;
  h.add(sample(start, 0));
  assertEquals(h.fine.length, before);
});

/** Number of `selector` matches. */
function count(page: Page, selector: string) {
  return page.locator(selector).count();
}

/** Checks a chart has both axes with labels, a legend and a readout that follows the pointer. */
async function checkChart(page: Page, id: string, legend: string[]) {
  const chart = page.locator(`#${id}`);
  await chart.waitFor();
  assert((await count(page, `#${id} .tick.x text`)) >= 2, `${id}: time labels`);
  assert((await count(page, `#${id} .tick.y text`)) >= 3, `${id}: value labels`);
  assertEquals(await chart.locator("text.unit").count(), 1, `${id}: unit on the axis`);
  assertEquals(await chart.locator(".legend .key").allInnerTexts(), legend);
  const box = (await chart.locator("svg").boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await chart.locator(".readout[data-hover=yes]").waitFor();
  assert(await chart.locator("line.hover").count() === 1, `${id}: hover line`);
  await page.mouse.move(0, 0);
  // The keyboard reads the same values: Home jumps to the first point.
  await chart.locator("svg").focus();
  await page.keyboard.press("Home");
  await chart.locator(".readout[data-hover=yes]").waitFor();
  await chart.locator("svg").blur();
}

async function phoneFits(page: Page, name: string) {
  await page.setViewportSize({ width: 390, height: 844 });
  // Charts pick their drawing width when they render: load the page at phone width.
  await page.reload();
  await page.locator("figure.chart svg").first().waitFor();
  const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - innerWidth");
  assert(overflow <= 1, `${name} at phone width: ${overflow}px of horizontal overflow`);
  await screenshot(page, `${name}-phone`);
  await page.setViewportSize({ width: 1200, height: 860 });
}

Deno.test({
  name: "charts: relay status over 20 minutes and the dashboard's activity view, in a browser",
  ignore: missing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w: World = await startWorld();
    const browser = await launchBrowser();
    // The relay's pages on a second port, with a sampler whose history the test can fill.
    const app = new Hono();
    app.onError(errorHandler(logger("test-pages")));
    app.notFound(notFoundHandler);
    const sampler = mountRelayPages(app, w.relay.relay);
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    const pagesUrl = `http://127.0.0.1:${server.addr.port}`;
    try {
      const { alice, bob } = w;
      const ctx = browser.context;
      ctx.setDefaultTimeout(15_000);
      const page = await ctx.newPage();
      const errors = watchErrors(page);

      await t.step(
        "relay status: 20 minutes of history, axes, legend, values follow traffic",
        async () => {
          // Twenty minutes of quiet history (the injectable clock is the sample's time).
          const now = Date.now();
          const base = await sampler.read();
          for (let at = now - 20 * MINUTE; at <= now - 2_000; at += 5_000) {
            sampler.history.add({ ...base, at });
          }
          const bogus = await fetch(`${pagesUrl}/v1/stats?range=7d`);
          assertEquals([bogus.status, (await bogus.json()).error.code], [400, "validation_failed"]);
          const hour = await fetch(`${pagesUrl}/v1/stats?range=1h`).then((r) => r.json());
          const first = Date.parse(hour.samples[0].at);
          assert(Date.now() - first > 18 * MINUTE, "the 1 h range reaches back past 3 minutes");

          await page.goto(`${pagesUrl}/status`);
          await checkChart(page, "chart-throughput", ["accepted", "delivered"]);
          await checkChart(page, "chart-queue", ["waiting"]);
          await page.getByLabel("1 hour").check();
          await page.locator("#chart-throughput .tick.x text").first().waitFor();
          const labels = await page.locator("#chart-throughput .tick.x text").allInnerTexts();
          assert(labels.length >= 3, labels.join(" | "));
          // Traffic: the latest point's rate rises above zero.
          const readout = page.locator("#chart-throughput .readout");
          assert(/accepted 0\b/.test(await readout.innerText()), await readout.innerText());
          for (let i = 0; i < 5; i++) {
            await alice.api.send({ from: ALICE, to: BOB, text: `ping ${i}` });
          }
          await page.getByLabel("15 minutes").check();
          await page.locator("#chart-throughput .readout", { hasText: /accepted [1-9]/ }).waitFor();
          await screenshot(page, "relay-status-charts");
          await page.getByLabel("1 hour").check();
          await screenshot(page, "relay-status-1h");
          await phoneFits(page, "relay-status");
        },
      );

      await t.step(
        "dashboard activity: tasks by state, messages per hour, per connection",
        async () => {
          await page.goto(dashboardLoginUrl(alice.running.daemon, alice.running.url));
          await page.getByRole("heading", { name: "Overview" }).waitFor();
          await page.getByRole("link", { name: "Activity" }).click();
          await page.getByRole("heading", { name: "Activity" }).waitFor();
          await checkChart(page, "chart-tasks", [
            "open",
            "completed",
            "declined, cancelled or expired",
          ]);
          await checkChart(page, "chart-messages", ["in", "out"]);
          const cell = (dir: string) =>
            page.locator(`table.per-conn tr:has-text("${BOB}") td[data-dir=${dir}]`);
          const inBefore = Number(await cell("in").innerText());
          const outBefore = Number(await cell("out").innerText());
          const readout = page.locator("#chart-messages .readout");
          const latestIn = async () => Number(/in (\d+)/.exec(await readout.innerText())![1]);
          const inChart = await latestIn();
          // The page buckets by its own clock: past an hour's end the latest bar starts again.
          const hourOf = () => Math.floor(Date.now() / 3_600_000);
          const hour = hourOf();
          // Traffic both ways and a task: the view follows live (no reload).
          for (let i = 0; i < 3; i++) await bob.api.send({ from: BOB, to: ALICE, text: `hi ${i}` });
          await alice.api.send({ from: ALICE, to: BOB, text: "hello" });
          const { task } = await alice.api.createTask({
            from: ALICE,
            to: BOB,
            title: "Chart me",
            instructions: "x",
          });
          await eventually(async () => Number(await cell("in").innerText()) >= inBefore + 3);
          await eventually(async () => Number(await cell("out").innerText()) >= outBefore + 1);
          await eventually(async () => (await latestIn()) >= inChart + 3 || hourOf() !== hour)
            .catch(() => assert(false, "the bar of this hour grew"));
          await eventually(async () => (await bob.api.tasks()).some((x) => x.id === task.id));
          await page.locator("#chart-tasks .readout", { hasText: /open [1-9]/ }).waitFor();
          assert(
            !/never/.test(await page.locator(`table.per-conn tr:has-text("${BOB}")`).innerText()),
            "last heard from is set",
          );
          await screenshot(page, "activity");
          await phoneFits(page, "activity");
        },
      );

      await t.step(
        "task page: the artifact above the action forms; compact connections",
        async () => {
          const { task } = await alice.api.createTask({
            from: ALICE,
            to: BOB,
            title: "Order check",
            instructions: "y",
          });
          await eventually(async () => (await bob.api.tasks()).some((x) => x.id === task.id));
          await bob.api.acceptTask(task.id);
          await bob.api.submitArtifact(task.id, { content: "line 1\nline 2\n" });
          await page.goto(`${alice.running.url}/#/tasks/${task.id}`);
          await page.locator("details.artifact").first().waitFor();
          await page.getByRole("heading", { name: "Actions" }).waitFor();
          const order = await page.evaluate<string[]>(
            `[...document.querySelectorAll("main h2")].map((h) => h.textContent)`,
          );
          assert(order.indexOf("Artifacts") < order.indexOf("Actions"), order.join(", "));
          await page.goto(`${alice.running.url}/#/connections`);
          await page.locator("ul.conn-list > li").first().waitFor();
          assertEquals(await count(page, "form.perm"), 0, "the editor opens on demand");
          const line = page.locator("ul.conn-list > li").first();
          assert((await line.boundingBox())!.height < 60, "one line per connection");
          await line.getByRole("button", { name: "Permissions" }).click();
          assertEquals(await count(page, "form.perm"), 1);
          await screenshot(page, "connections-compact");
        },
      );

      assertEquals(errors, [], "no script errors or CSP violations");
    } finally {
      await browser.close();
      await server.shutdown();
      await w.close();
    }
  },
});
