import { type Command, parseFlags } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

/** Exit code when the daemon runs but its configured relay link is down (for monitoring). */
export const EXIT_RELAY_DOWN = 3;

/** `taskferry status` */
export const statusCommand: Command = {
  name: "status",
  summary: "Show the daemon's health and relay connection",
  help: `Usage: taskferry status [options]

Shows the local daemon's version, client and device ids, relay connection and counts.

Exit status: 0 when the daemon is up and its relay link is connected (or no relay is configured),
${EXIT_RELAY_DOWN} when a relay is configured but not connected, 1 when the daemon cannot be reached.

${VERB_FLAGS_HELP}

Examples:
  taskferry status
  taskferry status --json
`,
  async run(args) {
    const { values } = parseFlags("status", args, VERB_FLAGS);
    let relayDown = false;
    const code = await runVerb(async () => {
      const h = await daemonClient(values).health();
      relayDown = h.relay.configured && !h.relay.connected;
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
    return code === 0 && relayDown ? EXIT_RELAY_DOWN : code;
  },
};
