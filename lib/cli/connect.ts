import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { KEY_FLAG, KEY_FLAG_HELP, keyOption } from "./idempotency_flag.ts";
import { checkHandle } from "./handle_hint.ts";
import { ApiError, type TaskferryClient } from "../sdk/mod.ts";

/**
 * An invite the relay does not know (or no longer honours) is said as such, whatever the
 * daemon's wording: the person holding the link can only ask for a new one.
 */
export function explainInvite(err: unknown, link: string): unknown {
  if (!(err instanceof ApiError)) return err;
  const code = /\/invite\/([^?#\s]*)/.exec(link)?.[1] ?? link;
  const unknown = err.code === "invite_not_found" || err.code === "invite_expired" ||
    (err.code === "validation_failed" && link.includes("/invite/"));
  if (!unknown) return err;
  return new ApiError(
    err.status,
    err.code === "validation_failed" ? "invite_not_found" : err.code,
    `the invite code '${code}' is unknown or expired: ask the agent's owner for a new link (they run 'taskferry invite AGENT')`,
  );
}

/** `taskferry invite` */
export const inviteCommand: Command = {
  name: "invite",
  summary: "Create an invite link for one of your agents",
  help: `Usage: taskferry invite AGENT [options]

Prints a taskferry://<relay>/invite/<code>#fp=<fingerprint> link. Whoever opens it can send
AGENT a connection request, and checks AGENT's key fingerprint on the way.

${VERB_FLAGS_HELP}

Example:
  taskferry invite @bob/writer
`,
  run(args) {
    const { values, positionals } = parseFlags("invite", args, VERB_FLAGS, true);
    if (positionals.length !== 1) {
      throw new UsageError("invite takes one AGENT (see: taskferry help invite)");
    }
    const agent = checkHandle(positionals[0]!, "AGENT");
    return runVerb(async () => {
      const invite = await daemonClient(values).createInvite(agent);
      output(values.json, { invite }, () => `${invite.url}\nexpires ${invite.expires_at}`);
    });
  },
};

/** `taskferry connect` */
export const connectCommand: Command = {
  name: "connect",
  summary: "Ask another agent for a connection (by handle or invite link)",
  help: `Usage: taskferry connect --from AGENT (HANDLE | INVITE_LINK) [options]

Options:
  --from AGENT   your agent that asks
  --note TEXT    a note the other owner sees
${KEY_FLAG_HELP}
${VERB_FLAGS_HELP}

Examples:
  taskferry connect --from @alice/requester @bob/writer
  taskferry connect --from @alice/requester 'taskferry://relay.example.com/invite/Zx…#fp=…'
`,
  run(args) {
    const { values, positionals } = parseFlags("connect", args, {
      ...VERB_FLAGS,
      ...KEY_FLAG,
      from: { type: "string" },
      note: { type: "string" },
    }, true);
    if (!values.from || positionals.length !== 1) {
      throw new UsageError(
        "connect needs --from AGENT and one HANDLE or INVITE_LINK (see: taskferry help connect)",
      );
    }
    const target = positionals[0]!;
    const from = checkHandle(values.from, "--from");
    // A link has a scheme or an invite path, a bare code is 8-64 URL-safe characters (as
    // lib/client/invites.ts parses them); anything else is meant as a handle.
    const isLink = target.includes("://") || target.includes("/invite/") ||
      /^[A-Za-z0-9_-]{8,64}$/.test(target);
    return runVerb(async () => {
      const input: Parameters<ReturnType<typeof daemonClient>["connect"]>[0] = { from };
      if (target.startsWith("@") || !isLink) input.to = checkHandle(target, "HANDLE");
      else input.invite = target;
      if (values.note) input.note = values.note;
      const result = await daemonClient(values).connect(input, keyOption(values)).catch((err) => {
        throw explainInvite(err, target);
      });
      output(
        values.json,
        result,
        () => `${result.connection.agent} → ${result.connection.peer}: ${result.connection.state}`,
      );
      if (result.invite && !result.invite.fingerprint_verified) {
        console.error(
          `taskferry: not verified: the link carried no fingerprint (#fp=), so the key the relay ` +
            `serves for ${result.connection.peer} (${result.invite.fingerprint}) was pinned ` +
            `unchecked; compare it with its owner before you trust it`,
        );
      }
    });
  },
};

/** `taskferry accept` */
export const acceptCommand: Command = {
  name: "accept",
  summary: "Accept (or --decline) a pending connection request",
  help: `Usage: taskferry accept PEER [options]

Options:
  --agent AGENT   your agent that was asked (needed when several were)
  --decline       decline instead of accepting
  --gate          hold every task from PEER for your approval in the dashboard
${VERB_FLAGS_HELP}

Examples:
  taskferry accept @alice/requester
  taskferry accept @mallory/x --decline
`,
  run(args) {
    const { values, positionals } = parseFlags("accept", args, {
      ...VERB_FLAGS,
      agent: { type: "string" },
      decline: { type: "boolean" },
      gate: { type: "boolean" },
    }, true);
    if (positionals.length !== 1) {
      throw new UsageError("accept takes one PEER handle (see: taskferry help accept)");
    }
    const peer = checkHandle(positionals[0]!, "PEER");
    if (values.agent) checkHandle(values.agent, "--agent");
    return runVerb(async () => {
      const api = daemonClient(values);
      const base = values.agent ? { agent: values.agent } : {};
      const result =
        await (values.decline ? api.declineConnection(peer, base) : api.acceptConnection(
          peer,
          values.gate ? { ...base, permissions: { require_human_gate: true } } : base,
        )).catch(async (err) => {
          throw await explainNotPending(err, api, peer, values.agent);
        });
      output(
        values.json,
        result,
        () => `${result.connection.agent} ↔ ${result.connection.peer}: ${result.connection.state}`,
      );
    });
  },
};

/**
 * Accepting what is not pending: say so in the user's terms and list what is pending, so the
 * next command can be typed from the message.
 */
async function explainNotPending(
  err: unknown,
  api: TaskferryClient,
  peer: string,
  agent: string | undefined,
): Promise<unknown> {
  if (!(err instanceof ApiError) || err.code !== "connection_not_pending") return err;
  const pending = (await api.connections(agent).catch(() => [])).filter((c) =>
    c.state === "pending_in"
  );
  const fromPeer = pending.filter((c) => c.peer === peer);
  const list = pending.length
    ? `pending: ${pending.map((c) => `${c.peer} → ${c.agent}`).join(", ")}`
    : "nothing is pending";
  const message = fromPeer.length > 1 && !agent
    ? `${peer} asked several of your agents (${
      fromPeer.map((c) => c.agent).join(", ")
    }): name one with --agent AGENT`
    : `there is no pending request from ${peer}${agent ? ` to ${agent}` : ""} (${list})`;
  return new ApiError(err.status, err.code, message);
}
