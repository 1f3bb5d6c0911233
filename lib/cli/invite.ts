/**
 * `taskferry invite`: create (lib/cli/connect.ts does that part, unchanged), list and revoke
 * invite links.
 */
import type { InviteListItem } from "../sdk/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { inviteCommand as createInvite } from "./connect.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

function line(i: InviteListItem): string {
  return `${i.code}  ${i.agent.padEnd(28)} ${i.state.padEnd(8)} expires ${i.expires_at}`;
}

/** `taskferry invite` */
export const inviteCommand: Command = {
  name: "invite",
  summary: "Create, list or revoke invite links for your agents",
  help: `Usage: taskferry invite AGENT [options]
       taskferry invite list [--agent AGENT]
       taskferry invite revoke CODE

AGENT    prints a taskferry://<relay>/invite/<code>#fp=<fingerprint> link. Whoever opens it can
         send AGENT a connection request, and checks AGENT's key fingerprint on the way.
list     the invites this daemon created, newest first: active, expired or revoked
revoke   nobody can redeem CODE (the word right after revoke) any more. What it already granted stays: a client that opened
         it may still ask, and connections made through it stay — block a peer to cut it off
         (taskferry connections block PEER)

Options:
  --agent AGENT   (list) one agent's invites
${VERB_FLAGS_HELP}

Examples:
  taskferry invite @bob/writer
  taskferry invite list
  taskferry invite revoke W8o8hq6ywRDp2XS_fJRt4Q-c
`,
  run(args) {
    const verb = args[0];
    if (verb !== "list" && verb !== "revoke") return createInvite.run(args);
    // A code is base64url and may begin with "-": it is the word right after `revoke`.
    const code = verb === "revoke" ? args[1] : undefined;
    if (verb === "revoke" && (!code || code.startsWith("--"))) {
      throw new UsageError("invite revoke takes one CODE (see: taskferry help invite)");
    }
    const { values, positionals } = parseFlags("invite", args.slice(code ? 2 : 1), {
      ...VERB_FLAGS,
      agent: { type: "string" },
    }, true);
    const api = daemonClient(values);
    if (verb === "list") {
      if (positionals.length) throw new UsageError("invite list takes no arguments");
      return runVerb(async () => {
        const invites = await api.invites(values.agent);
        output(
          values.json,
          { invites },
          () => invites.length ? invites.map(line).join("\n") : "no invites yet",
        );
      });
    }
    if (positionals.length || values.agent) {
      throw new UsageError("invite revoke takes one CODE (see: taskferry help invite)");
    }
    return runVerb(async () => {
      const invite = await api.revokeInvite(code!);
      output(values.json, { invite }, () => `revoked ${invite.code} (${invite.agent})`);
    });
  },
};
