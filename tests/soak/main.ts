/**
 * `deno task soak`: the long variants of the reliability and security tests, one file after the
 * other (never in parallel, so the memory figures are the relay's own):
 *
 * - tests/e2e/faults_test.ts — N = 1,000 items per fault scenario, and the black hole longer than
 *   the daemon's keepalive (~70 s);
 * - tests/relay/fuzz_test.ts — 50,000 mutations;
 * - tests/relay/bounds_test.ts — 1,000 idle connections, a 60 s flood;
 * - tests/client/files_memory_test.ts — a 1 GB file end to end, live memory flat.
 *
 * `--only faults|fuzz|bounds|files` runs one of them. Prints the FAULTS / FUZZ / BOUNDS / FILES
 * lines the tests emit, then a summary; exits non-zero when any test failed.
 * @module
 */
import { parseArgs } from "node:util";

const FILES = {
  faults: "tests/e2e/faults_test.ts",
  fuzz: "tests/relay/fuzz_test.ts",
  bounds: "tests/relay/bounds_test.ts",
  files: "tests/client/files_memory_test.ts",
} as const;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { only: { type: "string" } },
  });
  const root = new URL("../../", import.meta.url).pathname;
  const names = values.only ? [values.only as keyof typeof FILES] : Object.keys(FILES) as (
    keyof typeof FILES
  )[];
  // Only what the tests need, passed explicitly.
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") ?? "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    TASKFERRY_SOAK: "1",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  for (const k of ["TASKFERRY_FUZZ_SEED", "TASKFERRY_FAULTS_N", "TASKFERRY_FUZZ_COUNT"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  const lines: string[] = [];
  let failed = 0;
  for (const name of names) {
    const file = FILES[name];
    if (!file) throw new Error(`unknown suite ${name}: use ${Object.keys(FILES).join(", ")}`);
    const started = Date.now();
    console.error(`soak: ${file} …`);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", file],
      cwd: root,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      await Deno.stdout.write(chunk);
    }
    const status = await child.status;
    if (!status.success) failed++;
    for (const line of text.split("\n")) {
      if (/^(FAULTS|FUZZ|BOUNDS|FILES) /.test(line)) lines.push(line);
    }
    lines.push(
      `${status.success ? "ok    " : "FAILED"} ${file} (${
        Math.round((Date.now() - started) / 1000)
      } s)`,
    );
  }
  console.log("\n==== soak summary");
  for (const line of lines) console.log(line);
  Deno.exit(failed === 0 ? 0 : 1);
}
