/**
 * The daemon suite's start-up rows: cold start of `main.ts relay` and `main.ts client` as
 * processes (spawn → answering health), and the size of `deno bundle` of main.ts.
 * @module
 */
import { join } from "node:path";
import type { BenchOptions, BenchRow } from "./main.ts";

const SUITE = "daemon";
const REPO = new URL("../", import.meta.url).pathname;
const MAIN = join(REPO, "main.ts");

/** Spawns `main.ts …` and times it until `ready` resolves; then stops it with SIGTERM. */
async function coldStart(
  args: string[],
  env: Record<string, string>,
  ready: (child: Deno.ChildProcess, stdout: () => string) => Promise<void>,
): Promise<number> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: REPO,
    env: { TASKFERRY_LOG_LEVEL: "error", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pump = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
  })();
  const errText = new Response(child.stderr).text();
  try {
    await ready(child, () => out);
    return performance.now() - start;
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const status = await Promise.race([
      child.status,
      new Promise<null>((r) => setTimeout(() => r(null), 5000)),
    ]);
    if (status === null) child.kill("SIGKILL");
    await child.status;
    await pump.catch(() => {});
    await errText.catch(() => "");
  }
}

async function poll<T>(what: string, fn: () => Promise<T | null>): Promise<T> {
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`cold start: ${what} never answered`);
}

/** Cold starts of relay and daemon; `ms` formats a duration. */
export async function coldStarts(
  opts: BenchOptions,
  ms: (value: number) => string,
): Promise<BenchRow[]> {
  const runs = opts.quick ? 2 : 5;
  const relayTimes: number[] = [];
  const daemonTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const home = await Deno.makeTempDir({ prefix: "tf-bench-cold-" });
    try {
      relayTimes.push(
        await coldStart(
          ["relay", "--addr", "127.0.0.1:0"],
          { TASKFERRY_HOME: join(home, "relay") },
          async (_child, stdout) => {
            const url = await poll("relay URL on stdout", () => {
              const m = /listening on (http:\/\/\S+)/.exec(stdout());
              return Promise.resolve(m ? m[1]! : null);
            });
            await poll("relay /health", async () => {
              const res = await fetch(`${url}/health`);
              await res.body?.cancel();
              return res.ok ? true : null;
            });
          },
        ),
      );
      const daemonHome = join(home, "daemon");
      daemonTimes.push(
        await coldStart(
          ["client"],
          {
            TASKFERRY_HOME: daemonHome,
            TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
            TASKFERRY_CLIENT_ID: "cold",
          },
          async () => {
            const url = await poll("daemon.json", async () => {
              const info = JSON.parse(await Deno.readTextFile(join(daemonHome, "daemon.json")));
              return typeof info.url === "string" ? info.url as string : null;
            });
            const token = (await Deno.readTextFile(join(daemonHome, "local-token"))).trim();
            await poll("daemon /v1/health", async () => {
              const res = await fetch(`${url}/v1/health`, {
                headers: { authorization: `Bearer ${token}` },
              });
              await res.body?.cancel();
              return res.ok ? true : null;
            });
          },
        ),
      );
    } finally {
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  }
  const row = (name: string, times: number[]): BenchRow => {
    const total = times.reduce((a, b) => a + b, 0) / 1000;
    return {
      suite: SUITE,
      name,
      runs: times.length,
      seconds: total,
      rate: times.length / total,
      note: `spawn → health answering: ${
        times.map((t) => ms(t)).join(", ")
      } (module cache warm; no type check)`,
    };
  };
  console.error(`  cold starts: relay ${relayTimes.map(ms)}, daemon ${daemonTimes.map(ms)}`);
  return [
    row("cold start: deno run -A main.ts relay --addr 127.0.0.1:0", relayTimes),
    row("cold start: deno run -A main.ts client (no relay configured)", daemonTimes),
  ];
}

/** The size of `deno bundle` of main.ts. */
export async function bundleSize(): Promise<BenchRow> {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-bundle-" });
  try {
    const out = join(dir, "taskferry.js");
    const start = performance.now();
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "-o", out, MAIN],
      cwd: REPO,
      stdout: "null",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - start) / 1000;
    if (!result.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(result.stderr)}`);
    }
    const size = (await Deno.stat(out)).size;
    console.error(`  bundle: ${(size / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s`);
    return {
      suite: SUITE,
      name: "deno bundle --platform deno main.ts",
      runs: 1,
      seconds,
      rate: NaN,
      note: `${size.toLocaleString("en-US")} bytes (${(size / 1024 / 1024).toFixed(2)} MiB), ` +
        `built in ${seconds.toFixed(1)} s`,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
