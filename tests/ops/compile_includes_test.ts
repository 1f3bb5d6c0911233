/**
 * `deno compile` leaves Worker modules out of the binary unless each is named with `--include`
 * (Deno's compile docs, "Workers"); without them the released binary would check signatures
 * and run WAL checkpoints on the main thread (the fallbacks log a warning). Every
 * `new Worker(new URL("./x.ts", import.meta.url))` under lib/ must be included by each place that
 * compiles: `deno task compile`, the release workflow and the Dockerfile.
 */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assert } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const WORKER_URL = /new Worker\(\s*new URL\(\s*"(\.[^"]+)",\s*import\.meta\.url\s*\)/g;

/** Every Worker module under lib/, as a path from the repository root. */
function workerModules(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) {
        for (const m of Deno.readTextFileSync(path).matchAll(WORKER_URL)) {
          found.push(relative(ROOT, join(dirname(path), m[1]!)));
        }
      }
    }
  };
  walk(join(ROOT, "lib"));
  return found.sort();
}

Deno.test("compile: every Worker module is passed to deno compile with --include", () => {
  const workers = workerModules();
  assert(workers.length >= 2, `expected the checkpoint and signature Workers, got ${workers}`);
  const compilers = {
    "deno.json (task compile)": JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks
      .compile as string,
    ".github/workflows/release.yml": Deno.readTextFileSync(
      join(ROOT, ".github/workflows/release.yml"),
    ).split("\n").find((l) => l.includes("deno compile -A")) ?? "",
    "deploy/docker/Dockerfile": Deno.readTextFileSync(join(ROOT, "deploy/docker/Dockerfile"))
      .split("\n").find((l) => l.includes("deno compile")) ?? "",
  };
  for (const [where, line] of Object.entries(compilers)) {
    assert(line.includes("deno compile"), `${where}: no deno compile line`);
    for (const w of workers) {
      assert(line.includes(`--include ${w}`), `${where}: add --include ${w} to: ${line}`);
    }
  }
});
