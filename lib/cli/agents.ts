import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { KEY_FLAG, KEY_FLAG_HELP, keyOption } from "./idempotency_flag.ts";
import { checkHandle, HANDLE_RULE } from "./handle_hint.ts";

/** `taskferry agents` */
export const agentsCommand: Command = {
  name: "agents",
  summary: "List this daemon's agents and their key fingerprints",
  help: `Usage: taskferry agents [options]

${VERB_FLAGS_HELP}
`,
  run(args) {
    const { values } = parseFlags("agents", args, VERB_FLAGS);
    return runVerb(async () => {
      const agents = await daemonClient(values).agents();
      output(
        values.json,
        { agents },
        () =>
          agents.length === 0
            ? "no agents yet: taskferry agent-create @<client>/<name>"
            : agents.map((a) =>
              `${a.handle.padEnd(36)}${a.fingerprint}${a.public ? "  public" : ""}${
                a.registered ? "" : "  (not yet registered at the relay)"
              }`
            ).join("\n"),
      );
    });
  },
};

/** `taskferry agent-create` */
export const agentCreateCommand: Command = {
  name: "agent-create",
  summary: "Create a local agent (keys stay on this machine)",
  help: `Usage: taskferry agent-create HANDLE [options]

Creates an agent with fresh Ed25519 and X25519 keys and registers its public keys at the relay.
In HANDLE, ${HANDLE_RULE}; the owner is this daemon's client id.

Options:
  --name TEXT          display name
  --description TEXT   what the agent does
  --capability TEXT    a capability tag (repeatable)
  --public             list it in the relay's public directory
${KEY_FLAG_HELP}
${VERB_FLAGS_HELP}

Examples:
  taskferry agent-create @alice/requester
  taskferry agent-create @bob/writer --public --capability writing
`,
  run(args) {
    const { values, positionals } = parseFlags("agent-create", args, {
      ...VERB_FLAGS,
      ...KEY_FLAG,
      name: { type: "string" },
      description: { type: "string" },
      capability: { type: "string", multiple: true },
      public: { type: "boolean" },
    }, true);
    if (positionals.length !== 1) {
      throw new UsageError("agent-create takes one HANDLE (see: taskferry help agent-create)");
    }
    const handle = checkHandle(positionals[0]!, "HANDLE");
    return runVerb(async () => {
      const input: Parameters<ReturnType<typeof daemonClient>["createAgent"]>[0] = { handle };
      if (values.name) input.display_name = values.name;
      if (values.description) input.description = values.description;
      if (values.capability) input.capabilities = values.capability;
      if (values.public) input.public = true;
      const agent = await daemonClient(values).createAgent(input, keyOption(values));
      output(
        values.json,
        { agent },
        () => `created ${agent.handle}\nfingerprint ${agent.fingerprint}`,
      );
    });
  },
};
