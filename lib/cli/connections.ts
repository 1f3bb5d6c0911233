/**
 * `taskferry connections`: the owner's view of connections — list them, answer requests,
 * block or unblock a peer, read and edit what a peer may send.
 */
import { DEFAULT_PERMISSIONS, type Permissions, type PermissionsPatch } from "../protocol/mod.ts";
import { ApiError, type ConnectionView } from "../sdk/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

const HELP = `Usage: taskferry connections [list] [--agent AGENT] [options]
       taskferry connections accept PEER [--agent AGENT] [--gate]
       taskferry connections decline PEER [--agent AGENT] [--reason TEXT]
       taskferry connections block PEER [--agent AGENT]
       taskferry connections unblock PEER [--agent AGENT]
       taskferry connections permissions get PEER --agent AGENT
       taskferry connections permissions set PEER --agent AGENT KEY=VALUE…

list         connections of your agents (or of --agent), most recently changed first
accept       accept a pending request from PEER (--gate: hold its tasks for your approval)
decline      decline it
block        block and disconnect PEER: the relay refuses what it sends, the daemon drops
             whatever still arrives (for --agent, else every agent of yours that knows PEER)
unblock      lift the block; PEER may ask again
permissions  what PEER may send to AGENT; KEY is one of
             ${Object.keys(DEFAULT_PERMISSIONS).join(", ")}

Options:
  --agent AGENT   your agent (needed when several could be meant)
  --gate          (accept) hold every task from PEER for your approval
  --reason TEXT   (decline) a reason PEER sees
${VERB_FLAGS_HELP}

Examples:
  taskferry connections
  taskferry connections accept @alice/requester --gate
  taskferry connections block @mallory/spam
  taskferry connections permissions set @alice/requester --agent @bob/writer can_send_task=false max_rate_per_minute=30
`;

/** One connection line for humans. */
function line(c: ConnectionView): string {
  const p = c.permissions;
  const may =
    [p.can_message && "message", p.can_send_task && "task", p.can_send_artifact && "artifact"]
      .filter(Boolean).join(",") || "nothing";
  return `${c.agent.padEnd(28)} ${c.peer.padEnd(28)} ${c.state.padEnd(11)} ${
    c.peer_fingerprint ?? "(not pinned)"
  }  may send: ${may}, ${p.max_rate_per_minute}/min, ${p.max_open_tasks} open${
    p.require_human_gate ? ", gated" : ""
  }`;
}

/** Human form of permissions, one per line. */
function permissionLines(p: Permissions): string {
  return Object.entries(p).map(([k, v]) => `${k.padEnd(20)} ${v}`).join("\n");
}

/** Parses `KEY=VALUE` permission edits, refusing unknown keys and ill-typed values. */
export function parsePermissionEdits(pairs: string[]): PermissionsPatch {
  if (pairs.length === 0) throw new UsageError("permissions set needs KEY=VALUE pairs");
  const patch: Record<string, boolean | number> = {};
  for (const pair of pairs) {
    const m = /^([a-z_]+)=(.+)$/.exec(pair);
    const key = m?.[1] as keyof Permissions | undefined;
    if (!m || !key || !(key in DEFAULT_PERMISSIONS)) {
      throw new UsageError(
        `'${pair}' is not KEY=VALUE with KEY one of ${Object.keys(DEFAULT_PERMISSIONS).join(", ")}`,
      );
    }
    const value = m[2]!;
    if (typeof DEFAULT_PERMISSIONS[key] === "boolean") {
      if (value !== "true" && value !== "false") throw new UsageError(`${key} is true or false`);
      patch[key] = value === "true";
    } else {
      if (!/^\d+$/.test(value)) throw new UsageError(`${key} is a whole number`);
      patch[key] = Number(value);
    }
  }
  return patch as PermissionsPatch;
}

function onePeer(positionals: string[], verb: string): string {
  const peer = positionals[0];
  if (positionals.length !== 1 || !peer?.startsWith("@")) {
    throw new UsageError(
      `connections ${verb} takes one PEER handle (see: taskferry help connections)`,
    );
  }
  return peer;
}

/** `taskferry connections` */
export const connectionsCommand: Command = {
  name: "connections",
  summary: "List connections; accept, decline, block peers; read and edit permissions",
  help: HELP,
  run(args) {
    const verb = args[0] && !args[0].startsWith("-") ? args[0] : "list";
    const rest = verb === args[0] ? args.slice(1) : args;
    const { values, positionals } = parseFlags("connections", rest, {
      ...VERB_FLAGS,
      agent: { type: "string" },
      gate: { type: "boolean" },
      reason: { type: "string" },
    }, true);
    const api = daemonClient(values);
    const agent = values.agent;
    switch (verb) {
      case "list":
        if (positionals.length) throw new UsageError("connections list takes no arguments");
        return runVerb(async () => {
          const connections = await api.connections(agent);
          output(
            values.json,
            { connections },
            () => connections.length ? connections.map(line).join("\n") : "no connections yet",
          );
        });
      case "accept":
      case "decline": {
        const peer = onePeer(positionals, verb);
        return runVerb(async () => {
          const base = agent ? { agent } : {};
          const result = verb === "decline"
            ? await api.declineConnection(
              peer,
              values.reason ? { ...base, reason: values.reason } : base,
            )
            : await api.acceptConnection(
              peer,
              values.gate ? { ...base, permissions: { require_human_gate: true } } : base,
            );
          output(values.json, result, () => line(result.connection));
        });
      }
      case "block": {
        const peer = onePeer(positionals, verb);
        return runVerb(async () => {
          const connections = await api.blockPeer(peer, agent);
          output(
            values.json,
            { connections },
            () => connections.map((c) => `${c.agent} blocked ${c.peer}`).join("\n"),
          );
        });
      }
      case "unblock": {
        const peer = onePeer(positionals, verb);
        return runVerb(async () => {
          const result = await api.unblockPeer(peer, agent);
          output(
            values.json,
            result,
            () => result.unblocked.map((a) => `${a} unblocked ${peer}`).join("\n"),
          );
        });
      }
      case "permissions":
        return permissions(api, positionals, agent, values.json);
      default:
        throw new UsageError(
          `unknown connections verb '${verb}' (see: taskferry help connections)`,
        );
    }
  },
};

function permissions(
  api: ReturnType<typeof daemonClient>,
  positionals: string[],
  agent: string | undefined,
  json: boolean | undefined,
): Promise<number> {
  const [how, peer, ...pairs] = positionals;
  if ((how !== "get" && how !== "set") || !peer?.startsWith("@")) {
    throw new UsageError(
      "connections permissions get|set PEER --agent AGENT … (see: taskferry help connections)",
    );
  }
  if (!agent) throw new UsageError("connections permissions needs --agent AGENT");
  if (how === "get" && pairs.length) throw new UsageError("permissions get takes no KEY=VALUE");
  const patch = how === "set" ? parsePermissionEdits(pairs) : undefined;
  return runVerb(async () => {
    const connection = patch
      ? await api.setPermissions(peer, agent, patch)
      : (await api.connections(agent)).find((c) => c.peer === peer);
    if (!connection) {
      throw new ApiError(403, "not_connected", `${agent} has no connection with ${peer}`);
    }
    output(
      json,
      { agent, peer, state: connection.state, permissions: connection.permissions },
      () => permissionLines(connection.permissions),
    );
  });
}
