/**
 * Runs `taskferry …` as a real child process (`deno run -A main.ts`) with a minimal, explicit
 * environment: the verb finds its daemon only through TASKFERRY_HOME (daemon.json, local-token)
 * or the flags a test passes.
 */
import { fileURLToPath } from "node:url";
import { assertEquals } from "../assert.ts";

/** The repository root (the child's working directory). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A finished CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `taskferry args…` with TASKFERRY_HOME=`home` plus `env`; stdin is empty. */
export async function cli(
  home: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const base: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? home,
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    TASKFERRY_HOME: home,
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) base.DENO_DIR = denoDir;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", ...args],
    cwd: ROOT,
    env: { ...base, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Asserts a refusal: exit `code`, nothing on stdout, and exactly `message` on stderr. */
export function assertRefused(r: CliRun, code: number, message: string) {
  assertEquals(r.stderr, `taskferry: ${message}\n`, `stdout: ${r.stdout}`);
  assertEquals(r.code, code, r.stderr);
  assertEquals(r.stdout, "");
}

/** A finished CLI run with its stdout parsed as JSON when it is JSON (else null). */
export interface CliJsonRun extends CliRun {
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** {@link cli} with the arguments spread, and stdout parsed as JSON when it is JSON. */
export async function cliJson(home: string, ...args: string[]): Promise<CliJsonRun> {
  const r = await cli(home, args);
  let json: unknown = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    // not JSON
  }
  return { ...r, json };
}
