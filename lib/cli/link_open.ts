import { join } from "node:path";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { parseSetupLink } from "./client.ts";
import { explainInvite } from "./connect.ts";
import { checkHandle } from "./handle_hint.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { taskferryHome } from "./settings.ts";

/** `taskferry link-open` */
export const linkOpenCommand: Command = {
  name: "link-open",
  summary: "Open a taskferry:// link (invite or setup)",
  help: `Usage: taskferry link-open LINK [--from AGENT] [options]

Invite links (taskferry://<relay>/invite/<code>#fp=…): shows the agent and checks its key
fingerprint against the link; with --from, also sends it a connection request.
Setup links (taskferry://<relay>/setup#…): saves the relay credentials into $TASKFERRY_HOME so
a plain 'taskferry client' uses them.

Options:
  --from AGENT   send a connection request from this agent (invite links)
${VERB_FLAGS_HELP}
`,
  run(args) {
    const { values, positionals } = parseFlags("link-open", args, {
      ...VERB_FLAGS,
      from: { type: "string" },
    }, true);
    if (positionals.length !== 1) {
      throw new UsageError("link-open takes one LINK (see: taskferry help link-open)");
    }
    const link = positionals[0]!;
    if (/^taskferry:\/\/[^/]+\/setup#/.test(link)) {
      const setup = parseSetupLink(link);
      const home = values.home ?? taskferryHome();
      Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
      const path = join(home, "relay-credentials.json");
      Deno.writeTextFileSync(path, JSON.stringify(setup) + "\n", { mode: 0o600 });
      Deno.chmodSync(path, 0o600);
      output(
        values.json,
        { client_id: setup.client_id, relay_url: setup.relay_url, saved: path },
        () =>
          `saved relay credentials for '${setup.client_id}' (${setup.relay_url}) to ${path}\nnext: taskferry client`,
      );
      return Promise.resolve(0);
    }
    if (values.from) checkHandle(values.from, "--from");
    return runVerb(async () => {
      const api = daemonClient(values);
      const preview = await api.openInvite(link).catch((err) => {
        throw explainInvite(err, link);
      });
      if (!values.from) {
        return output(
          values.json,
          { invite: preview },
          () =>
            `${preview.agent}\nfingerprint ${preview.fingerprint} (matches the link)\nexpires ${preview.expires_at}\nconnect with: taskferry link-open '${link}' --from <your agent>`,
        );
      }
      const r = await api.connect({ from: values.from, invite: link });
      output(
        values.json,
        { invite: preview, ...r },
        () => `${r.connection.agent} → ${r.connection.peer}: ${r.connection.state}`,
      );
    });
  },
};
