/**
 * Files in the dashboard (issue 16), in a real browser: a task whose v1 carries an image, a text
 * file, an SVG and an HTML page and whose v2 changes the text file. The task page lists the
 * files, the image preview loads, the text diff shows the changed line, the download is the
 * file; the SVG and the HTML are never rendered (no <img>, no script, served as attachments
 * even with `?inline=1`). A conversation lists a message's files with a download link; a pending
 * file shows its progress and turns ready live; a corrupted one shows failed and why.
 * Screenshots: test-output/screenshots/files-*.png.
 */
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld, type TestDaemon } from "../client/world.ts";
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from "./browser.ts";

const missing = chromiumMissing();
if (missing) console.warn(`files browser test skipped: ${missing}`);

/** A `size`×`size` opaque PNG, built here so the test needs no fixture file. */
function png(size: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const h = new DataView(ihdr.buffer);
  h.setUint32(0, size);
  h.setUint32(4, size);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = new Uint8Array(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      raw.set([30 + y * 6, 90, 200 - x * 5], y * (1 + size * 3) + 1 + x * 3);
    }
  }
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

const NOTES_V1 = "line one\nline two\nline three\n";
const NOTES_V2 = "line one\nline 2, changed in v2\nline three\n";
const SVG = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert("svg")</script></svg>`;
const HTML_PAGE = `<html><body><script>alert("html")</script>page</body></html>`;

/** Waits until every file of the task's artifacts on `d` is ready; returns the detail. */
function allReady(d: TestDaemon, id: string, versions: number) {
  return eventually(async () => {
    const t = await d.api.task(id);
    const files = t.artifacts.flatMap((a) => a.files ?? []);
    return t.artifacts.length === versions && files.every((f) => f.state === "ready") ? t : null;
  }, 30_000);
}

Deno.test({
  name: "files in the dashboard: list, image preview, text diff, download, never inline SVG/HTML",
  ignore: missing !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "tf-files-ui-" });
    const w = await startWorld({ filesRoot: dir });
    const browser = await launchBrowser();
    try {
      const put = async (name: string, body: string | Uint8Array) => {
        const path = join(dir, name);
        await Deno.writeFile(
          path,
          typeof body === "string" ? new TextEncoder().encode(body) : body,
        );
        return { path };
      };
      const { alice, bob } = w;
      const { task } = await alice.api.createTask({
        from: "@alice/requester",
        to: "@bob/writer",
        title: "Screenshot and notes",
        instructions: "See the brief.",
        files: [await put("brief.txt", "the brief\n")],
      });
      await eventually(async () => (await bob.api.task(task.id).catch(() => null)) !== null);
      await bob.api.acceptTask(task.id);
      await bob.api.submitArtifact(task.id, {
        content: "v1",
        files: [
          await put("shot.png", png(48)),
          await put("notes.txt", NOTES_V1),
          await put("evil.svg", SVG),
          await put("page.html", HTML_PAGE),
          await put("table.csv", "a,b\n1,2\n"),
        ],
      });
      await allReady(alice, task.id, 1);
      await alice.api.requestRevision(task.id, { feedback: "fix line two" });
      await eventually(async () =>
        (await bob.api.task(task.id)).task.state === "revision_requested"
      );
      await bob.api.submitArtifact(task.id, {
        content: "v2",
        files: [await put("notes.txt", NOTES_V2), await put("table.csv", "a,b\n1,3\n")],
      });
      const detail = await allReady(alice, task.id, 2);
      const byName = new Map(
        detail.artifacts.flatMap((a) => a.files ?? []).map((f) => [f.name, f]),
      );

      await t.step(
        "GET /v1/files/{id}?inline=1 inlines only raster images and plain text",
        async () => {
          const head = async (name: string, inline: boolean) => {
            const res = await fetch(
              `${alice.running.url}/v1/files/${byName.get(name)!.id}${inline ? "?inline=1" : ""}`,
              { headers: { authorization: `Bearer ${alice.token}` } },
            );
            await res.body?.cancel();
            const h = res.headers;
            assertEquals(h.get("x-content-type-options"), "nosniff", name);
            assert(h.get("content-security-policy")?.includes("sandbox"), name);
            return [h.get("content-type"), h.get("content-disposition")?.split(";")[0]];
          };
          assertEquals(await head("shot.png", true), ["image/png", "inline"]);
          assertEquals(await head("notes.txt", true), ["text/plain; charset=utf-8", "inline"]);
          assertEquals(await head("notes.txt", false), ["text/plain", "attachment"]);
          assertEquals(await head("evil.svg", true), ["image/svg+xml", "attachment"]);
          assertEquals(await head("page.html", true), ["text/html", "attachment"]);
        },
      );

      const page = await browser.context.newPage();
      browser.context.setDefaultTimeout(15_000);
      const errors = watchErrors(page);
      const dialogs: string[] = [];
      page.on("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
      await page.goto(alice.running.url + "/");
      await page.getByLabel("Local API token").fill(alice.token);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Overview" }).waitFor();

      await t.step("the task page lists files, previews the image and the text", async () => {
        await page.goto(`${alice.running.url}/#/tasks/${task.id}`);
        const request = page.getByRole("list", { name: "Request files" });
        await request.locator("li.file", { hasText: "brief.txt" }).waitFor();
        await page.locator("summary", { hasText: "v1" }).click();
        const v1 = page.getByRole("list", { name: "Files of v1" });
        for (const name of ["shot.png", "notes.txt", "evil.svg", "page.html", "table.csv"]) {
          await v1.locator(`li.file[data-file="${name}"]`, { hasText: "ready" }).waitFor();
        }
        await v1.locator("li.file", { hasText: "evil.svg" }).getByText("image/svg+xml").waitFor();
        const img = v1.locator('li.file[data-file="shot.png"] img.file-image');
        await img.waitFor();
        // Polled from here: waitForFunction's in-page polling evaluates a string (CSP forbids it).
        await eventually(async () =>
          await page.evaluate<boolean>(
            "document.querySelector('li.file[data-file=\"shot.png\"] img')?.complete === true",
          )
        );
        assertEquals(
          await img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth),
          48,
        );
        await v1.locator('li.file[data-file="notes.txt"] pre', { hasText: "line two" }).waitFor();
        const v2 = page.getByRole("list", { name: "Files of v2" });
        await v2.locator('li.file[data-file="notes.txt"] pre', { hasText: "changed in v2" })
          .waitFor();
        // SVG and HTML: listed, never rendered (one <img> on the page, the PNG's; no script).
        assertEquals(await page.locator("img").count(), 1);
        assertEquals(await page.locator("iframe, object, embed").count(), 0);
        assertEquals(await v1.locator('li.file[data-file="page.html"] pre').count(), 0);
        await screenshot(page, "files-task");
      });

      await t.step("the text file's diff between v1 and v2 shows the changed line", async () => {
        const diff = page.locator('.file-diff[data-file="notes.txt"]');
        await diff.locator("tr.del", { hasText: "line two" }).waitFor();
        await diff.locator("tr.add", { hasText: "line 2, changed in v2" }).waitFor();
        assertEquals(await diff.locator("tr.add, tr.del").count(), 2);
        // Other text types (text/csv here) are previewed and diffed the same way.
        const csv = page.locator('.file-diff[data-file="table.csv"]');
        await csv.locator("tr.add", { hasText: "1,3" }).waitFor();
        await diff.scrollIntoViewIfNeeded();
        await screenshot(page, "files-diff");
      });

      await t.step("download gives the file's bytes", async () => {
        const link = page.getByRole("list", { name: "Files of v2" })
          .locator('li.file[data-file="notes.txt"]').getByRole("link", { name: "Download" });
        const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
        assertEquals(download.suggestedFilename(), "notes.txt");
        assertEquals(await Deno.readTextFile(await download.path()), NOTES_V2);
      });

      await t.step(
        "opening the SVG or HTML with ?inline=1 downloads it, never runs it",
        async () => {
          for (const name of ["evil.svg", "page.html"]) {
            const other = await browser.context.newPage();
            other.on("dialog", (d) => void (dialogs.push(d.message()), d.dismiss()));
            const url = `${alice.running.url}/v1/files/${byName.get(name)!.id}?inline=1`;
            const [download] = await Promise.all([
              other.waitForEvent("download"),
              other.goto(url).catch(() => null), // "Download is starting": no document
            ]);
            assertEquals(download.suggestedFilename(), name);
            await other.close();
          }
          assertEquals(dialogs, []);
        },
      );

      await t.step("a conversation lists a message's files with a download link", async () => {
        await alice.api.send({
          from: "@alice/requester",
          to: "@bob/writer",
          text: "the notes",
          files: [await put("memo.txt", "memo\n")],
        });
        await page.goto(`${alice.running.url}/#/conversations`);
        const files = page.getByRole("list", { name: "Message files" });
        await files.locator('li.file[data-file="memo.txt"]', { hasText: "ready" }).waitFor();
        await files.getByRole("link", { name: "Download" }).waitFor();
        await screenshot(page, "files-conversation");
      });
      await t.step("a pending file shows its state, then turns ready live", async () => {
        await w.relay.close(); // the upload cannot start: alice's file stays pending
        const sent = await alice.api.send({
          from: "@alice/requester",
          to: "@bob/writer",
          text: "later",
          files: [await put("later.txt", "later\n")],
        });
        const item = page.locator('li.file[data-file="later.txt"]');
        await item.locator(".badge", { hasText: "pending 0%" }).waitFor();
        await item.locator("progress").waitFor();
        assertEquals(await item.getByRole("link", { name: "Download" }).count(), 0);
        await screenshot(page, "files-pending");
        await w.startRelay();
        await item.locator(".badge", { hasText: "ready" }).waitFor({ timeout: 30_000 });
        assertEquals((await alice.api.message(sent.message.id)).files?.[0]?.state, "ready");
      });

      await t.step("a file that fails verification shows failed with its reason", async () => {
        await bob.close();
        const sent = await alice.api.send({
          from: "@alice/requester",
          to: "@bob/writer",
          text: "flipped",
          files: [await put("flip.txt", "x".repeat(3000))],
        });
        await eventually(async () =>
          (await alice.api.message(sent.message.id)).state === "accepted"
        );
        const blobId = (await alice.api.message(sent.message.id)).files![0]!.id;
        const chunk = join(w.relay.dir, "blobs", "chunks", blobId, "0");
        const bytes = await Deno.readFile(chunk);
        bytes[100]! ^= 0x01;
        await Deno.writeFile(chunk, bytes);
        w.bob = await bob.start();
        const pb = await browser.context.newPage();
        errors.push(...watchErrors(pb));
        await pb.goto(w.bob.running.url + "/");
        await pb.getByLabel("Local API token").fill(w.bob.token);
        await pb.getByRole("button", { name: "Log in" }).click();
        await pb.getByRole("heading", { name: "Overview" }).waitFor();
        await pb.goto(`${w.bob.running.url}/#/conversations`);
        const item = pb.locator('li.file[data-file="flip.txt"]');
        await item.locator(".badge", { hasText: "failed" }).waitFor({ timeout: 30_000 });
        await item.getByText("blob_corrupt").waitFor();
        assertEquals(await item.getByRole("link", { name: "Download" }).count(), 0);
        await screenshot(pb, "files-failed");
      });
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await w.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
