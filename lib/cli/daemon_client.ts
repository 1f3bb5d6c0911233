/** Shared by the CLI verbs: find the daemon and its token, print results. */
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

/** Resolves the daemon's URL and token the way the README says. */
export function daemonClient(
  values: { url?: string; token?: string; home?: string },
): TaskferryClient {
  const env = Deno.env.toObject();
  const home = values.home ?? taskferryHome(env);
  let url = values.url ?? env.TASKFERRY_CLIENT_URL;
  if (!url) {
    try {
      url = (JSON.parse(Deno.readTextFileSync(join(home, "daemon.json"))) as { url: string }).url;
    } catch {
      url = `http://${env.TASKFERRY_CLIENT_ADDR ?? "127.0.0.1:4318"}`;
    }
  }
  let token = values.token ?? env.TASKFERRY_LOCAL_API_TOKEN;
  if (!token) {
    try {
      token = Deno.readTextFileSync(join(home, "local-token")).trim();
    } catch {
      token = "";
    }
  }
  return new TaskferryClient({ url, token });
}

/** Runs a verb body, printing API errors as one line with their code (exit 1). */
export async function runVerb(fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`taskferry: ${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** Prints `value` as JSON or through `human`. */
export function output(json: boolean | undefined, value: unknown, human: () => string) {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}
