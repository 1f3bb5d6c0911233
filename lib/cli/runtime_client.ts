/**
 * The daemon client of a runtime (`taskferry mcp`, `taskferry agent writer|requester`): it
 * should hold an agent token (design §14), so it finds one first — `--token`,
 * `TASKFERRY_AGENT_TOKEN`, then a token file — and falls back to the owner's token (the CLI's
 * usual lookup) only with a warning, since that token can approve its own gated tasks.
 */
import { AGENT_TOKEN_PREFIX } from "../client/guards/agent_tokens.ts";
import type { TaskferryClient } from "../sdk/mod.ts";
import { UsageError } from "./command.ts";
import { daemonClient } from "./daemon_client.ts";

/** Flags a runtime takes besides the usual `--url`, `--token`, `--home`. */
export const RUNTIME_TOKEN_FLAGS = { "token-file": { type: "string" } } as const;

/** Help lines for the runtime's token flags. */
export const RUNTIME_TOKEN_HELP =
  `  --token TOKEN        agent token from 'taskferry agent token AGENT' [env TASKFERRY_AGENT_TOKEN;
                       the owner's local API token still works, with a warning]
  --token-file FILE    read the agent token from FILE [env TASKFERRY_AGENT_TOKEN_FILE]`;

/**
 * The client for a runtime; `warn` hears when it runs with anything but an agent token.
 *
 * @example
 * ```ts
 * const api = runtimeClient(values, (m) => console.error(m));
 * ```
 */
export function runtimeClient(
  values: { url?: string; token?: string; home?: string; "token-file"?: string },
  warn: (message: string) => void,
): TaskferryClient {
  const env = Deno.env.toObject();
  let token = values.token ?? (env.TASKFERRY_AGENT_TOKEN || undefined);
  const file = values["token-file"] ?? (env.TASKFERRY_AGENT_TOKEN_FILE || undefined);
  if (token === undefined && file !== undefined) {
    try {
      token = Deno.readTextFileSync(file).trim();
    } catch (err) {
      throw new UsageError(`cannot read the token file ${file}: ${(err as Error).message}`);
    }
  }
  if (!token?.startsWith(AGENT_TOKEN_PREFIX)) {
    warn(
      "running with the owner's local API token (full power: it can approve its own gated " +
        "tasks); give this runtime an agent token instead: taskferry agent token AGENT",
    );
  }
  return daemonClient({ ...values, ...(token !== undefined ? { token } : {}) });
}
