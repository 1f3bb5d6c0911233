/**
 * What the Go `taskferry` verbs share: the Go global flags `--base-url` / `--api-token` (and
 * its `TASKFERRY_LOCAL_URL`), Go-style boolean flags (`--public`, `--public=false`), comma lists,
 * and the Go output: the API response as 2-space JSON on stdout, errors on stderr, exit 1.
 */
import { ApiError, type TaskferryClient } from "../../sdk/mod.ts";
import { type Command, parseFlags, UsageError } from "../command.ts";
import { daemonClient } from "../daemon_client.ts";
import { deprecation } from "../env_aliases.ts";

/** The Go CLI's global flags, accepted before the verb (moved after it) or after it. */
export const GO_GLOBAL_FLAGS = {
  "base-url": { type: "string" },
  "api-token": { type: "string" },
  home: { type: "string" },
} as const;

/** Help lines for {@link GO_GLOBAL_FLAGS}. */
export const GO_GLOBAL_HELP =
  `Go-compatible options (also accepted before the verb, as the Go CLI took them):
  --base-url URL    daemon API [env TASKFERRY_CLIENT_URL; the Go name TASKFERRY_LOCAL_URL works too]
  --api-token TOKEN local API token [env TASKFERRY_LOCAL_API_TOKEN; default $TASKFERRY_HOME/local-token]
  --home DIR        data directory [env TASKFERRY_HOME; default ~/.taskferry]
Prints the daemon's JSON answer; see docs/migrating.md for how it differs from the Go API's.`;

/** Go-style flag values. */
export interface GoGlobals {
  "base-url"?: string | undefined;
  "api-token"?: string | undefined;
  home?: string | undefined;
}

/** Go globals as our verbs' `--url` / `--token` / `--home` (with `TASKFERRY_LOCAL_URL`). */
export function ourFlags(values: GoGlobals): { url?: string; token?: string; home?: string } {
  let url = values["base-url"];
  const goUrl = Deno.env.get("TASKFERRY_LOCAL_URL");
  if (url === undefined && !Deno.env.get("TASKFERRY_CLIENT_URL") && goUrl) {
    deprecation("TASKFERRY_LOCAL_URL", "TASKFERRY_CLIENT_URL", "one name for the daemon's URL");
    url = goUrl;
  }
  const opts: { url?: string; token?: string; home?: string } = {};
  if (url !== undefined) opts.url = url;
  if (values["api-token"] !== undefined) opts.token = values["api-token"];
  if (values.home !== undefined) opts.home = values.home;
  return opts;
}

/** {@link ourFlags} as command-line arguments. */
export function ourArgs(values: GoGlobals): string[] {
  return Object.entries(ourFlags(values)).flatMap(([k, v]) => [`--${k}`, v]);
}

/** The loopback API client for Go-style flags. */
export function goClient(values: GoGlobals): TaskferryClient {
  return daemonClient(ourFlags(values));
}

/**
 * Takes Go-style booleans out of `args`: `--name` and `--name=true` are true, `--name=false` is
 * false, absent is `fallback`. Returns the values and the remaining arguments.
 */
export function takeBools(
  args: readonly string[],
  names: readonly string[],
  fallback: Record<string, boolean> = {},
): { bools: Record<string, boolean>; rest: string[] } {
  const bools: Record<string, boolean> = { ...fallback };
  const rest: string[] = [];
  for (const arg of args) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m && names.includes(m[1]!)) {
      const v = m[2] ?? "true";
      if (!/^(true|false|1|0)$/.test(v)) throw new UsageError(`--${m[1]} takes true or false`);
      bools[m[1]!] = v === "true" || v === "1";
    } else rest.push(arg);
  }
  return { bools, rest };
}

/** Splits a Go comma list (`a,b`), dropping blanks. */
export function commaList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Prints `value` the way the Go CLI did: 2-space JSON. */
export function printJson(value: unknown) {
  console.log(JSON.stringify(value, null, 2));
}

/** Requires the named string flags, with a usage error naming the first one missing. */
export function need<T extends Record<string, unknown>>(verb: string, values: T, names: string[]) {
  for (const n of names) {
    if (values[n] === undefined || values[n] === "") {
      throw new UsageError(`${verb} needs --${n} (see: taskferry help ${verb})`);
    }
  }
}

/** The description of one Go verb: flags, required ones, and the call it makes. */
export interface GoVerbSpec {
  name: string;
  summary: string;
  usage: string;
  /** Extra string flags (beyond the global ones). */
  flags?: Record<string, { type: "string" }>;
  /** Go-style boolean flags, with their defaults. */
  bools?: Record<string, boolean>;
  required?: string[];
  allowPositionals?: boolean;
  call(
    api: TaskferryClient,
    values: Record<string, string | undefined>,
    bools: Record<string, boolean>,
    positionals: string[],
  ): Promise<unknown>;
}

/** Builds a {@link Command} from a {@link GoVerbSpec}. */
export function goVerb(spec: GoVerbSpec): Command {
  return {
    name: spec.name,
    summary: `${spec.summary} (Go TaskFerry verb)`,
    help: `Usage: taskferry ${spec.usage}

${spec.summary} (a verb of the Go TaskFerry CLI).

${GO_GLOBAL_HELP}
`,
    run: (args) => runGo(spec, args),
  };
}

/** Runs a Go verb: parse, call, print JSON; API errors to stderr with exit 1. */
export async function runGo(spec: GoVerbSpec, args: string[]): Promise<number> {
  const { bools, rest } = takeBools(args, Object.keys(spec.bools ?? {}), spec.bools);
  const { values, positionals } = parseFlags(spec.name, rest, {
    ...GO_GLOBAL_FLAGS,
    ...spec.flags,
  }, spec.allowPositionals ?? false);
  const v = values as Record<string, string | undefined>;
  need(spec.name, v, spec.required ?? []);
  try {
    printJson(await spec.call(goClient(v), v, bools, positionals));
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`taskferry: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
