/**
 * The single-file JavaScript release (design §1): `deno bundle` output must run on its own, from
 * an empty directory, with no deno.json, no node_modules and no package cache.
 */
import { assert, assertEquals } from "../assert.ts";
import { VERSION } from "../../lib/protocol/version.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();

/** The environment a child process gets: only what it needs, passed explicitly. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
  };
  // Where the package cache lives, if the caller moved it: the bundler needs it.
  for (const name of ["DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

async function run(args: string[], cwd: string, env: Record<string, string>) {
  const out = await new Deno.Command(DENO, {
    args,
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("the bundle runs alone from an empty directory, offline (--version, demo --once, dashboard)", async () => {
  const buildDir = await Deno.makeTempDir({ prefix: "taskferry-bundle-" });
  const runDir = await Deno.makeTempDir({ prefix: "taskferry-bundle-run-" });
  const emptyCache = await Deno.makeTempDir({ prefix: "taskferry-bundle-cache-" });
  try {
    // The same flags as the `bundle` task in deno.json, with the output in a temp dir.
    const bundlePath = `${buildDir}/taskferry.js`;
    const built = await run(
      ["bundle", "--platform", "deno", "-o", bundlePath, "main.ts"],
      REPO,
      childEnv(),
    );
    assertEquals(built.code, 0, `deno bundle failed:\n${built.stderr}`);

    // Everything must be inlined: the only imports left are Deno's built-in node: modules.
    const source = await Deno.readTextFile(bundlePath);
    const specifiers = [
      /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm, // static import/re-export
      /^\s*import\s*["']([^"']+)["']/gm, // bare side-effect import
      /\bimport\(\s*["']([^"']+)["']\s*\)/g, // dynamic import of a literal
    ].flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!));
    assert(specifiers.length > 0, "expected at least the node: imports");
    const external = specifiers.filter((spec) => !spec.startsWith("node:"));
    assertEquals(external, [], "the bundle imports something it did not inline");

    await Deno.copyFile(bundlePath, `${runDir}/taskferry.js`);
    const entries = [];
    for await (const e of Deno.readDir(runDir)) entries.push(e.name);
    assertEquals(entries, ["taskferry.js"]);

    // An empty DENO_DIR plus --cached-only proves it needs neither the network nor a cache.
    const ran = await run(
      ["run", "-A", "--no-config", "--cached-only", "taskferry.js", "--version"],
      runDir,
      childEnv({ DENO_DIR: emptyCache }),
    );
    assertEquals(ran.code, 0, `bundle --version failed:\n${ran.stderr}`);
    assert(
      ran.stdout.includes(`taskferry ${VERSION}`),
      `expected the version in: ${ran.stdout}`,
    );

    // The whole demo flow runs from the single file too.
    const demo = await run(
      [
        "run",
        "-A",
        "--no-config",
        "--cached-only",
        "taskferry.js",
        "demo",
        "--once",
        "--home",
        `${runDir}/demo`,
      ],
      runDir,
      childEnv({ DENO_DIR: emptyCache }),
    );
    assertEquals(demo.code, 0, `bundle demo --once failed:\n${demo.stdout}\n${demo.stderr}`);
    assert(demo.stdout.includes("flow complete"), `expected the flow to complete:\n${demo.stdout}`);
    assert(/worker step: .* progress updates live at alice/.test(demo.stdout), demo.stdout);
    assert(!demo.stdout.includes("dashboard:"), `--once prints no links that die with it`);

    // The dashboard's page and modules are embedded: a daemon from the bundle serves them.
    const daemon = new Deno.Command(DENO, {
      args: [
        "run",
        "-A",
        "--no-config",
        "--cached-only",
        "taskferry.js",
        "client",
        "--addr",
        "127.0.0.1:0",
      ],
      cwd: runDir,
      env: childEnv({
        DENO_DIR: emptyCache,
        TASKFERRY_HOME: `${runDir}/home`,
        TASKFERRY_CLIENT_ID: "carol",
      }),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      let printed = "";
      const reader = daemon.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!/dashboard: (\S+)/.test(printed)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the bundled daemon exited:\n${printed}`);
        printed += value;
      }
      const base = /dashboard: (\S+)/.exec(printed)![1]!;
      const page = await fetch(base);
      assert((await page.text()).includes("/assets/dashboard/app.js"), "the dashboard page");
      for (const asset of ["dashboard/app.js", "vendor/preact.js", "app.css"]) {
        const res = await fetch(`${base}assets/${asset}`);
        assertEquals(res.status, 200, asset);
        await res.body?.cancel();
      }
      reader.releaseLock();
    } finally {
      daemon.kill("SIGTERM");
      await daemon.status;
      await daemon.stdout.cancel().catch(() => {});
    }
  } finally {
    for (const dir of [buildDir, runDir, emptyCache]) await Deno.remove(dir, { recursive: true });
  }
});
