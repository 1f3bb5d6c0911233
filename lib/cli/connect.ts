import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

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
    return runVerb(async () => {
      const invite = await daemonClient(values).createInvite(positionals[0]!);
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
${VERB_FLAGS_HELP}

Examples:
  taskferry connect --from @alice/requester @bob/writer
  taskferry connect --from @alice/requester 'taskferry://relay.example.com/invite/Zx…#fp=…'
`,
  run(args) {
    const { values, positionals } = parseFlags("connect", args, {
      ...VERB_FLAGS,
      from: { type: "string" },
      note: { type: "string" },
    }, true);
    if (!values.from || positionals.length !== 1) {
      throw new UsageError(
        "connect needs --from AGENT and one HANDLE or INVITE_LINK (see: taskferry help connect)",
      );
    }
    const target = positionals[0]!;
    return runVerb(async () => {
      const input: Parameters<ReturnType<typeof daemonClient>["connect"]>[0] = {
        from: values.from!,
      };
      if (target.startsWith("@")) input.to = target;
      else input.invite = target;
      if (values.note) input.note = values.note;
      const result = await daemonClient(values).connect(input);
      output(
        values.json,
        result,
        () => `${result.connection.agent} → ${result.connection.peer}: ${result.connection.state}`,
      );
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
    return runVerb(async () => {
      const api = daemonClient(values);
      const peer = positionals[0]!;
      const base = values.agent ? { agent: values.agent } : {};
      const result = values.decline
        ? await api.declineConnection(peer, base)
        : await api.acceptConnection(
          peer,
          values.gate ? { ...base, permissions: { require_human_gate: true } } : base,
        );
      output(
        values.json,
        result,
        () => `${result.connection.agent} ↔ ${result.connection.peer}: ${result.connection.state}`,
      );
    });
  },
};
