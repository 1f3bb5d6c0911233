/**
 * Test-only packages are pinned in tests/deps/, not in deno.json's import map, and locked in
 * tests/deno.lock: so `deno task demo` on a fresh clone downloads only what the program runs
 * on (README "Test"). This one drives Chromium for the browser tests.
 */
export { type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.1";
