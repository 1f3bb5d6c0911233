/** `taskferry ack`: mark an inbound message read or processed (the sender sees a receipt). */
import type { MessageView } from "../sdk/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

/** `taskferry ack` */
export const ackCommand: Command = {
  name: "ack",
  summary: "Mark inbound messages read (or --processed); the sender gets a signed receipt",
  help: `Usage: taskferry ack MSG_ID… [--processed] [--agent AGENT] [options]

Marks each inbound message read, or processed with --processed; the daemon sends the sender a
signed, encrypted receipt, so the sender's delivery state moves on (read → processed).

Options:
  --processed     mark processed instead of read
  --agent AGENT   the recipient agent (needed when several local agents received it)
${VERB_FLAGS_HELP}

Examples:
  taskferry ack msg_01M801D3ZQ5S9XBA4W5M4E8N7C
  taskferry ack msg_01M801… msg_01M802… --processed --agent @bob/writer
`,
  run(args) {
    const { values, positionals } = parseFlags("ack", args, {
      ...VERB_FLAGS,
      processed: { type: "boolean" },
      agent: { type: "string" },
    }, true);
    if (positionals.length === 0) {
      throw new UsageError("ack needs at least one MSG_ID (see: taskferry help ack)");
    }
    const state = values.processed ? "processed" : "read";
    return runVerb(async () => {
      const api = daemonClient(values);
      const messages: MessageView[] = [];
      for (const id of positionals) messages.push(await api.ack(id, state, values.agent));
      output(
        values.json,
        { messages },
        () => messages.map((m) => `${m.id} ${state}`).join("\n"),
      );
    });
  },
};
