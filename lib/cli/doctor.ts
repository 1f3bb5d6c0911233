/** `taskferry doctor`: check a daemon's (or with --relay, a relay's) setup; exit 1 on a failure. */
import { CLIENT_SETTINGS } from "./client_config.ts";
import { type Command, parseFlags } from "./command.ts";
import { clientChecks } from "./doctor_client.ts";
import { report } from "./doctor_checks.ts";
import { relayChecks } from "./doctor_relay.ts";
import { RELAY_SETTINGS } from "./relay.ts";
import { flagOptions } from "./settings.ts";

/** `taskferry doctor` */
export const doctorCommand: Command = {
  name: "doctor",
  summary: "Check this daemon's (or --relay: the relay's) setup and say how to fix problems",
  help: `Usage: taskferry doctor [--json] [client options]
       taskferry doctor --relay [--json] [relay options]

Checks, read-only, and prints one line per check with a fix for each problem. Exit status 1 when
any check failed (warnings do not fail), else 0.

  daemon:  config, file permissions, whether a daemon runs on the home (the lock), its API,
           database integrity and schema, the relay: reachable, token accepted, clock skew;
           disk space
  --relay: config, public URL usable, TLS files (loadable, expiry), plain HTTP beyond loopback, database integrity
           (or PostgreSQL reachable), file permissions, the relay answering on its address and
           public URL, disk space

Options: --json, --relay, and the settings of 'taskferry client' (or 'taskferry relay' with
--relay), read from flags, environment and config file exactly as those commands read them.

Examples:
  taskferry doctor
  taskferry doctor --relay --json
`,
  async run(args) {
    const relay = args.includes("--relay");
    const { values } = parseFlags("doctor", args, {
      ...flagOptions(relay ? RELAY_SETTINGS : CLIENT_SETTINGS),
      relay: { type: "boolean" },
      json: { type: "boolean" },
    });
    const v = values as Record<string, string | boolean | undefined>;
    const json = v.json === true;
    delete v.json;
    delete v.relay;
    const results = relay ? await relayChecks(RELAY_SETTINGS, v) : await clientChecks(v);
    return report(results, json);
  },
};
