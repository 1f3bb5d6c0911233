/**
 * `taskferry agent token …`: the owner issues, lists and revokes agent tokens (design §14).
 * An agent token is what a runtime (MCP server, worker, demo agent) should hold instead of the
 * owner's local API token: it reaches only its agent, never a task held at the owner's gate.
 */
import { HANDLE_RE } from "../protocol/mod.ts";
import { parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS } from "./daemon_client.ts";

/** The `agent token` lines of `taskferry help agent`. */
export const AGENT_TOKEN_USAGE = `       taskferry agent token AGENT [--label TEXT] [options]
       taskferry agent token list [--agent AGENT] [options]
       taskferry agent token revoke ID [options]`;

/** What `taskferry help agent` says about tokens. */
export const AGENT_TOKEN_HELP =
  `Agent tokens: 'agent token AGENT' issues a local API token that acts only as AGENT (printed
once; store it like a password). A runtime holding it sees AGENT's inbox, messages, tasks and
events only — never a task waiting at the owner's gate — and cannot approve gates, edit
permissions, accept keys or reach other local agents. 'list' shows tokens with their last use;
'revoke' ends one at once. These three need the owner's token (the default).`;

/** Runs `taskferry agent token …` (`args` after `token`). */
export function runAgentToken(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("agent", args, {
    ...VERB_FLAGS,
    label: { type: "string" },
    agent: { type: "string" },
  }, true);
  const [first, ...rest] = positionals;
  if (first === "list") {
    if (rest.length) throw new UsageError("agent token list takes no arguments");
    return runVerb(async () => {
      const tokens = await daemonClient(values).agentTokens(values.agent);
      output(
        values.json,
        { tokens },
        () =>
          tokens.length === 0
            ? "no agent tokens yet: taskferry agent token @<client>/<name>"
            : tokens.map((t) =>
              `${t.id.padEnd(18)}${t.agent.padEnd(32)}created ${t.created_at}  last used ${
                t.last_used_at ?? "never"
              }${t.label ? `  ${t.label}` : ""}`
            ).join("\n"),
      );
    });
  }
  if (first === "revoke") {
    if (rest.length !== 1) throw new UsageError("agent token revoke takes one ID");
    return runVerb(async () => {
      const token = await daemonClient(values).revokeAgentToken(rest[0]!);
      output(values.json, { token }, () => `revoked ${token.id} (${token.agent})`);
    });
  }
  if (first === undefined || rest.length || !HANDLE_RE.test(first)) {
    throw new UsageError(
      "agent token takes one AGENT (@owner/name), list or revoke ID (see: taskferry help agent)",
    );
  }
  return runVerb(async () => {
    const token = await daemonClient(values).issueAgentToken(first, values.label);
    if (values.json) return output(true, { token }, () => "");
    // The token alone on stdout, so `T=$(taskferry agent token @me/x)` captures just it.
    console.log(token.token);
    console.error(
      `agent token ${token.id} for ${token.agent}: shown once; give it to the runtime as ` +
        `TASKFERRY_AGENT_TOKEN or in a --token-file; revoke: taskferry agent token revoke ${token.id}`,
    );
  });
}
