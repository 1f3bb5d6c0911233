/**
 * The Go TaskFerry's CLI surface (issue 20, docs/migrating.md): its verbs, its demo agents,
 * the Go forms of the verbs we already had, and its global flags before the verb.
 */
import type { Command } from "../command.ts";
import { goAgentCreate, goGlobalFront, goInbox, goLinkVerbs, withGoForm } from "./compat.ts";
import { requesterAgentCommand, writerAgentCommand } from "./demo_agents.ts";
import { GO_VERBS } from "./verbs.ts";

/** Our commands, with `agent-create`, `inbox` and `link-open` taking their Go forms too. */
export function withGoForms(commands: readonly Command[]): Command[] {
  return commands.map((c) => {
    if (c.name === "agent-create") {
      return withGoForm(c, goAgentCreate, ["handle", "display-name", "tagline", "capabilities"]);
    }
    if (c.name === "inbox") return withGoForm(c, goInbox, ["unprocessed"]);
    if (c.name === "link-open") return goLinkVerbs(c).linkOpen;
    return c;
  });
}

/** The Go verbs that are new names here, for the command list (after ours). */
export function goCommands(linkOpen: Command): Command[] {
  const { setupOpen, inviteOpen } = goLinkVerbs(linkOpen);
  return [...GO_VERBS, setupOpen, inviteOpen, writerAgentCommand, requesterAgentCommand];
}

/** Names that take the Go global flags before them. */
const GO_NAMES = new Set([
  ...GO_VERBS.map((c) => c.name),
  "agent-create",
  "inbox",
  "link-open",
  "setup-open",
  "invite-open",
]);

/** The Go global-flag front for `first` (e.g. `--base-url`), if it is one. */
export function goFront(first: string, find: (name: string) => Command | undefined) {
  return goGlobalFront(first, find, GO_NAMES);
}
