/**
 * Go verbs whose names our CLI already has (`agent-create`, `inbox`, `link-open`) keep our
 * behaviour; the Go form is chosen by a flag only the Go CLI had (`--handle`, `--unprocessed`,
 * `--base-url`, …) and then prints JSON as the Go command did. Plus `setup-open`,
 * `invite-open`, and the Go global flags before the verb (`taskferry --base-url URL tasks`).
 */
import { type Command, parseFlags, UsageError } from "../command.ts";
import { canonicalClientId } from "../../protocol/mod.ts";
import { relayTokenFor, relayUrlFromGo } from "../env_aliases.ts";
import { GO_GLOBAL_FLAGS, GO_GLOBAL_HELP, ourArgs, runGo, takeBools } from "./common.ts";
import type { GoVerbSpec } from "./common.ts";

const S = { type: "string" } as const;

/** `current`, switching to the Go `spec` when any of `goOnly` flags is given. */
export function withGoForm(current: Command, spec: GoVerbSpec, goOnly: string[]): Command {
  const only = [...goOnly, "base-url", "api-token"];
  const isGo = (args: string[]) =>
    args.some((a) => only.some((f) => a === `--${f}` || a.startsWith(`--${f}=`)));
  return {
    name: current.name,
    summary: current.summary,
    help: `${current.help}
Go TaskFerry form (chosen by --${only.join(", --")}; prints JSON):
  taskferry ${spec.usage}
${GO_GLOBAL_HELP}
`,
    run: (args) => isGo(args) ? runGo(spec, args) : current.run(args),
  };
}

/** Go `agent-create --handle --display-name --description --tagline --capabilities --public`. */
export const goAgentCreate: GoVerbSpec = {
  name: "agent-create",
  summary: "Create a local agent",
  usage: `agent-create --handle AGENT [--display-name TEXT] [--description TEXT]
                           [--tagline TEXT] [--capabilities a,b] [--public]`,
  flags: { handle: S, "display-name": S, description: S, tagline: S, capabilities: S },
  bools: { public: false },
  required: ["handle"],
  call: (api, v, b) => {
    // No separate tagline here: it leads the description.
    const description = [v.tagline, v.description].filter((x) => x).join("\n\n");
    const capabilities = v.capabilities?.split(",").map((c) => c.trim()).filter((c) => c);
    return api.request("POST", "/v1/agents", {
      handle: v.handle,
      ...(v["display-name"] ? { display_name: v["display-name"] } : {}),
      ...(description ? { description } : {}),
      ...(capabilities?.length ? { capabilities } : {}),
      public: b.public === true,
    });
  },
};

/** Go `inbox --agent [--unprocessed=false]`: every inbound item, by default unprocessed ones. */
export const goInbox: GoVerbSpec = {
  name: "inbox",
  summary: "List an agent's inbox",
  usage: "inbox --agent AGENT [--unprocessed=true|false]",
  flags: { agent: S },
  bools: { unprocessed: true },
  required: ["agent"],
  call: async (api, v, b) => {
    type Page = { items: { direction: string; state: string }[]; next_after: number };
    const items: Page["items"] = [];
    for (let after = 0;;) {
      const page = await api.request<Page>("GET", "/v1/inbox", undefined, {
        agent: v.agent,
        after,
        limit: 500,
      });
      items.push(...page.items);
      if (page.items.length < 500) break;
      after = page.next_after;
    }
    const wanted = items.filter((m) => !b.unprocessed || m.state !== "processed");
    return { agent: v.agent, unprocessed: b.unprocessed, items: wanted };
  },
};

/**
 * A Go setup link (`taskferry://host/setup?client_id=…&relay_token=…&relay_http=…&relay_ws=…`)
 * in our form (`taskferry://host/setup#relay=…&client_id=…&token=…`); our links pass through.
 */
export function ourSetupLink(link: string): string {
  const m = /^taskferry:\/\/([^/?#]+)\/setup\?(.*)$/.exec(link.trim());
  if (!m) return link;
  const q = new URLSearchParams(m[2]);
  const clientId = canonicalClientId(q.get("client_id") ?? "");
  const token = q.get("relay_token");
  if (!clientId || !token) {
    throw new UsageError("invalid setup link: it needs client_id and relay_token");
  }
  const relay = relayUrlFromGo(q.get("relay_http") ?? undefined, q.get("relay_ws") ?? undefined) ??
    `https://${m[1]}`;
  const params = new URLSearchParams({
    relay,
    client_id: clientId,
    token: relayTokenFor(clientId, token),
  });
  return `taskferry://${m[1]}/setup#${params}`;
}

/** Runs our `link-open` for a Go link verb, with JSON output. */
function linkVerb(
  name: string,
  linkFlag: string,
  linkOpen: Command,
  check: (link: string) => void,
): Command {
  return {
    name,
    summary: name === "setup-open"
      ? "Save the relay credentials of a setup link (Go TaskFerry verb)"
      : "Preview an invite link's agent (Go TaskFerry verb)",
    help: `Usage: taskferry ${name} [--${linkFlag} LINK | LINK] [--no-browser]

${
      name === "setup-open"
        ? "Saves a setup link's relay credentials into $TASKFERRY_HOME (restart 'taskferry client'\nto use them). Go-style links (…/setup?client_id=…&relay_token=…) work too."
        : "Shows the agent an invite link names and checks its fingerprint; connect with\n'taskferry friend-add --from AGENT --invite LINK'."
    }
Nothing opens a browser: the link's secrets stay out of browser history (--no-browser is
accepted for the Go CLI's sake).

${GO_GLOBAL_HELP}
`,
    run(args) {
      const { rest } = takeBools(args, ["no-browser"]);
      const { values, positionals } = parseFlags(name, rest, {
        ...GO_GLOBAL_FLAGS,
        [linkFlag]: S,
      }, true);
      const given = (values as Record<string, string | undefined>)[linkFlag];
      const links = given !== undefined ? [given, ...positionals] : positionals;
      if (links.length !== 1) {
        throw new UsageError(`${name} takes one link (see: taskferry help ${name})`);
      }
      const link = ourSetupLink(links[0]!);
      check(link);
      return linkOpen.run([...ourArgs(values), "--json", link]);
    },
  };
}

const isSetup = (link: string) => /^taskferry:\/\/[^/]+\/setup#/.test(link);

/** `setup-open`, `invite-open` and the Go form of `link-open`, over our `link-open`. */
export function goLinkVerbs(
  linkOpen: Command,
): { setupOpen: Command; inviteOpen: Command; linkOpen: Command } {
  const setupOpen = linkVerb("setup-open", "setup", linkOpen, (l) => {
    if (!isSetup(l)) throw new UsageError("setup-open takes a taskferry://…/setup link");
  });
  // Go's invite-open dispatched setup links to the setup page; so does this.
  const inviteOpen = linkVerb("invite-open", "invite", linkOpen, () => {});
  const goForm = linkVerb("link-open", "link", linkOpen, () => {});
  const only = ["base-url", "api-token", "no-browser"];
  return {
    setupOpen,
    inviteOpen,
    linkOpen: {
      ...linkOpen,
      help: `${linkOpen.help}
Go TaskFerry form (chosen by --base-url, --api-token or --no-browser; prints JSON):
  taskferry link-open [--no-browser] LINK    (Go setup links …/setup?client_id=… work too)
`,
      run: (args) =>
        args.some((a) => only.some((f) => a === `--${f}` || a.startsWith(`--${f}=`)))
          ? goForm.run(args)
          : linkOpen.run(args),
    },
  };
}

/**
 * The Go CLI took its global flags before the verb (`taskferry --base-url URL tasks`):
 * for such a first argument, a command that moves them after the verb. `verbs` are the names
 * that understand them.
 */
export function goGlobalFront(
  first: string,
  find: (name: string) => Command | undefined,
  verbs: ReadonlySet<string>,
): Command | undefined {
  if (!/^--(base-url|api-token)(=|$)/.test(first)) return undefined;
  return {
    name: first,
    summary: "Go TaskFerry global flags",
    help: GO_GLOBAL_HELP,
    run(rest) {
      const args = [first, ...rest];
      const globals: string[] = [];
      while (args.length && /^--(base-url|api-token)(=|$)/.test(args[0]!)) {
        const flag = args.shift()!;
        globals.push(flag);
        if (!flag.includes("=")) {
          if (args.length === 0) throw new UsageError(`${flag} needs a value`);
          globals.push(args.shift()!);
        }
      }
      const verb = args.shift();
      const command = verb === undefined ? undefined : find(verb);
      if (!command || !verbs.has(command.name)) {
        throw new UsageError(
          `--base-url/--api-token before a command are for the Go TaskFerry verbs ` +
            `(${[...verbs].join(", ")}); other commands take --url/--token after their name`,
        );
      }
      return command.run([...args, ...globals]);
    },
  };
}
