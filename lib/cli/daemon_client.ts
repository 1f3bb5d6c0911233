/** Shared by the CLI verbs: find the daemon and its token, print results and errors. */
import { join } from "node:path";
import { ApiError, TaskferryClient } from "../sdk/mod.ts";
import { taskferryHome } from "./settings.ts";

/** Flags every verb takes. */
export const VERB_FLAGS = {
  json: { type: "boolean" },
  url: { type: "string" },
  token: { type: "string" },
  home: { type: "string" },
} as const;

/** Help lines for {@link VERB_FLAGS}. */
export const VERB_FLAGS_HELP = `Common options:
  --json          print JSON (for scripts and agents)
  --url URL       daemon API [env TASKFERRY_CLIENT_URL; default: $TASKFERRY_HOME/daemon.json,
                  then http://$TASKFERRY_CLIENT_ADDR (127.0.0.1:4318)]
  --token TOKEN   local API token [env TASKFERRY_LOCAL_API_TOKEN; default $TASKFERRY_HOME/local-token]
  --home DIR      data directory [env TASKFERRY_HOME; default ~/.taskferry]`;

/** Where a verb looked for its daemon and token: what the error messages explain. */
export interface DaemonLocation {
  url: string;
  /** How the URL was found, as a phrase ("from --url", "looked for /h/daemon.json: …"). */
  urlFrom: string;
  token: string;
  /** How the token was found, as a phrase. */
  tokenFrom: string;
}

/** Resolves the daemon's URL and token the way the README says (no I/O beyond two reads). */
export function locateDaemon(
  values: { url?: string; token?: string; home?: string },
  env: Record<string, string | undefined> = Deno.env.toObject(),
): DaemonLocation {
  const home = values.home ?? taskferryHome(env);
  const daemonJson = join(home, "daemon.json");
  let url: string | undefined;
  let urlFrom = "";
  if (values.url) [url, urlFrom] = [values.url, "from --url"];
  else if (env.TASKFERRY_CLIENT_URL) {
    [url, urlFrom] = [env.TASKFERRY_CLIENT_URL, "from TASKFERRY_CLIENT_URL"];
  } else {
    try {
      url = (JSON.parse(Deno.readTextFileSync(daemonJson)) as { url: string }).url;
      urlFrom = `the address written in ${daemonJson}; that daemon may have stopped`;
    } catch {
      const addr = env.TASKFERRY_CLIENT_ADDR ?? "127.0.0.1:4318";
      url = `http://${addr}`;
      urlFrom = `looked for ${daemonJson}: not found; then the default address ${addr}`;
    }
  }
  const tokenFile = join(home, "local-token");
  let token = "";
  let tokenFrom = "";
  if (values.token) [token, tokenFrom] = [values.token, "given with --token"];
  else if (env.TASKFERRY_LOCAL_API_TOKEN) {
    [token, tokenFrom] = [env.TASKFERRY_LOCAL_API_TOKEN, "from TASKFERRY_LOCAL_API_TOKEN"];
  } else {
    try {
      token = Deno.readTextFileSync(tokenFile).trim();
      tokenFrom = `read from ${tokenFile}`;
    } catch {
      tokenFrom = `none: ${tokenFile} does not exist`;
    }
  }
  return { url: url!, urlFrom, token, tokenFrom };
}

// The CLI runs one verb per process; the location it resolved is what its errors explain.
let located: DaemonLocation | null = null;

/** The SDK client for the daemon {@link locateDaemon} finds. */
export function daemonClient(
  values: { url?: string; token?: string; home?: string },
): TaskferryClient {
  located = locateDaemon(values);
  return new TaskferryClient({ url: located.url, token: located.token });
}

/**
 * The CLI sentence for an API error: the daemon's own words, except where the HTTP-level
 * advice would mislead a terminal user (no daemon, wrong token).
 */
export function explainApiError(err: ApiError, where: DaemonLocation | null = located): string {
  if (where && err.code === "unavailable" && err.status === 0) {
    return `no daemon answers at ${where.url} (${where.urlFrom}): start one with 'taskferry client', or point at it with --home DIR or --url URL`;
  }
  if (where && err.code === "unauthorized") {
    return `the daemon at ${where.url} refused the local API token (${where.tokenFrom}): pass the token of that daemon with --token TOKEN, or its data directory with --home DIR`;
  }
  return err.message;
}

/** Runs a verb body, printing API errors as one line with their code (exit 1). */
export async function runVerb(fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`taskferry: ${err.code}: ${explainApiError(err)}`);
      return 1;
    }
    throw err;
  }
}

/** Prints `value` as JSON or through `human`. */
export function output(json: boolean | undefined, value: unknown, human: () => string) {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}
