import { PROTOCOL_VERSION, VERSION } from "../protocol/mod.ts";
import { BUILD_INFO } from "./build_info.ts";
import { type Command, parseFlags } from "./command.ts";

/** `taskferry version`: prints the program version, the build's commit and the protocol version. */
export const versionCommand: Command = {
  name: "version",
  summary: "Print the version",
  help: `Usage: taskferry version [--json]
       taskferry --version

Prints the TaskFerry version, the commit it was built from ("dev" when run from a checkout) and
the envelope protocol version.

Options:
  --json   print {"version","commit","built","protocol"} as JSON
`,
  run(args) {
    const { values } = parseFlags("version", args, { json: { type: "boolean" } });
    const { commit, date } = BUILD_INFO;
    if (values.json) {
      console.log(
        JSON.stringify({
          version: VERSION,
          commit,
          built: date || null,
          protocol: PROTOCOL_VERSION,
        }),
      );
    } else {
      console.log(
        `taskferry ${VERSION} (commit ${commit}${date ? `, built ${date}` : ""}; ` +
          `protocol ${PROTOCOL_VERSION})`,
      );
    }
    return Promise.resolve(0);
  },
};
