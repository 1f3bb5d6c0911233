import { type Command, parseFlags } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

/** `taskferry status` */
export const statusCommand: Command = {
  name: "status",
  summary: "Show the daemon's health and relay connection",
  help: `Usage: taskferry status [options]

Shows the local daemon's version, client and device ids, relay connection and counts.

${VERB_FLAGS_HELP}

Examples:
  taskferry status
  taskferry status --json
`,
  run(args) {
    const { values } = parseFlags("status", args, VERB_FLAGS);
    return runVerb(async () => {
      const h = await daemonClient(values).health();
      output(values.json, h, () =>
        [
          `daemon               ${h.status} (taskferry ${h.version})`,
          `client               ${h.client_id}  device ${h.device_id}`,
          `relay                ${h.relay.url ?? "not configured"} — ${
            h.relay.connected
              ? "connected"
              : `disconnected${h.relay.error ? ` (${h.relay.error})` : ""}`
          }`,
          ...Object.entries(h.counts).map(([k, v]) => `${k.replaceAll("_", " ").padEnd(21)}${v}`),
        ].join("\n"));
    });
  },
};
