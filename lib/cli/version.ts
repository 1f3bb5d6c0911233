import { PROTOCOL_VERSION, VERSION } from "../protocol/mod.ts";
import { type Command, parseFlags } from "./command.ts";

/** `taskferry version`: prints the program and protocol versions. */
export const versionCommand: Command = {
  name: "version",
  summary: "Print the version",
  help: `Usage: taskferry version [--json]
       taskferry --version

Prints the TaskFerry version and the envelope protocol version.

Options:
  --json   print {"version","protocol"} as JSON
`,
  run(args) {
    const { values } = parseFlags("version", args, { json: { type: "boolean" } });
    if (values.json) console.log(JSON.stringify({ version: VERSION, protocol: PROTOCOL_VERSION }));
    else console.log(`taskferry ${VERSION} (protocol ${PROTOCOL_VERSION})`);
    return Promise.resolve(0);
  },
};
