/**
 * Browser helpers for the dashboard and relay page tests: Debian's Chromium driven by
 * playwright-core, a fresh profile per run, screenshots under test-output/screenshots/.
 */
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "../deps/playwright.ts";

/** Where .ci/packages.sh installs Chromium (apt-get install chromium). */
export const CHROMIUM = "/usr/bin/chromium";

/** Screenshots land here (gitignored). */
export const SCREENSHOTS = new URL("../../test-output/screenshots/", import.meta.url).pathname;

/** Why the browser tests cannot run here, or null when Chromium is installed. */
export function chromiumMissing(): string | null {
  try {
    const info = Deno.statSync(CHROMIUM);
    return info.isFile ? null : `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} is not installed (run .ci/packages.sh, or apt-get install chromium)`;
  }
}

/** A headless Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser(): Promise<
  { context: BrowserContext; close(): Promise<void> }
> {
  const profile = await Deno.makeTempDir({ prefix: "tf-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 860 },
    acceptDownloads: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Several pages are open at once: keep the ones in the background at full speed.
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** Collects page errors and console errors (CSP violations show up there too). */
export function watchErrors(page: Page, ignore: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = `console: ${m.text()} (${m.location().url})`;
    if (!ignore.some((re) => re.test(text))) errors.push(text);
  });
  return errors;
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // A page in a background tab renders lazily: bring it up first.
  await page.bringToFront();
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Runs `fn` with console.log captured; returns what it printed. */
export async function captureLog(fn: () => Promise<unknown>): Promise<string> {
  const original = console.log;
  const lines: string[] = [];
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.log = original;
  }
  return lines.join("\n");
}
