/**
 * `deno task demo` on a fresh clone downloads only what the program runs on (issue 22): Deno
 * installs every npm package of deno.json's import map and of the lockfile it uses before a
 * task runs, so test-only packages live in tests/deps/ and tests/deno.lock, never in deno.json
 * or deno.lock. The committed deno.lock is what a clone gets: this test reads that one.
 */
import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "./cli_run.ts";

/** The packages only tests use (tests/deps/). */
const TEST_ONLY = ["playwright-core", "openai", "@noble/", "@hpke/"];

/** deno.lock as committed (HEAD), or the working file where git is not at hand. */
async function committedLock(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["show", "HEAD:deno.lock"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.success) return new TextDecoder().decode(out.stdout);
  } catch {
    // no git: a tarball checkout
  }
  return await Deno.readTextFile(`${ROOT}/deno.lock`);
}

Deno.test("runtime deps: deno.json and deno.lock hold no test-only package", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const mapped = Object.entries(config.imports as Record<string, string>)
    .filter(([k, v]) => TEST_ONLY.some((p) => k.includes(p) || v.includes(p)));
  assertEquals(mapped, [], "test-only packages belong in tests/deps/, not the import map");
  const lock = JSON.parse(await committedLock());
  const locked = [...Object.keys(lock.specifiers ?? {}), ...Object.keys(lock.npm ?? {})]
    .filter((k) => TEST_ONLY.some((p) => k.includes(p)));
  assertEquals(
    locked,
    [],
    "deno.lock holds test-only packages (a test or check ran without --lock=tests/deno.lock): " +
      "git checkout deno.lock, and use 'deno task test' / 'deno task check'",
  );
  for (const task of ["test", "check"]) {
    assert(String(config.tasks[task]).includes("--lock=tests/deno.lock"), `task ${task}`);
  }
});
