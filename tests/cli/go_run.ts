/** Runs `taskferry …` as a child process with a minimal, explicit environment (Go CLI tests). */
import { fileURLToPath } from "node:url";
import { assertEquals } from "../assert.ts";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A finished child. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** The environment every child gets, plus `extra`. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    ...extra,
  };
  // A child with its own HOME still uses this process's module cache (Linux default path).
  env.DENO_DIR = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache/deno`;
  return env;
}

/** Runs `taskferry args…` with `env` and returns its outcome (JSON parsed when it is JSON). */
export async function taskferry(env: Record<string, string>, ...args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", ...args],
    cwd: ROOT,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  let json: unknown = null;
  try {
    json = JSON.parse(stdout);
  } catch {
    // not JSON
  }
  return { code: out.code, stdout, stderr, json };
}

/** Runs and expects exit 0 with JSON output; returns the JSON. */
// deno-lint-ignore no-explicit-any
export async function okJson(env: Record<string, string>, ...args: string[]): Promise<any> {
  const r = await taskferry(env, ...args);
  assertEquals(r.code, 0, `taskferry ${args.join(" ")}\n${r.stderr}${r.stdout}`);
  assertEquals(r.json !== null, true, `not JSON: ${r.stdout}`);
  return r.json;
}
