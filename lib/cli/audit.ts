/** `taskferry audit`: the daemon's hash-chained task event log — show, verify, export. */
import type { AuditEventView } from "../sdk/mod.ts";
import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

/** One event for humans. */
function line(e: AuditEventView): string {
  return `#${e.seq} ${e.at} ${e.task_id} ${e.type.padEnd(18)} ${e.actor.padEnd(24)} ${
    e.hash.slice(0, 12)
  }`;
}

/** `taskferry audit` */
export const auditCommand: Command = {
  name: "audit",
  summary: "Show, verify or export the hash-chained task event log",
  help: `Usage: taskferry audit [show] [--task TASK_ID] [options]
       taskferry audit verify [--task TASK_ID]
       taskferry audit export [--task TASK_ID] [--out FILE]

show     events in order: seq, time, task, type, actor, the start of the hash
verify   recompute every task's chain; exit 1 and name the first broken event if one does not hold
export   every event as JSON Lines (one event per line, data included) to stdout or --out FILE

Options:
  --task TASK_ID   one task only
  --out FILE       (export) write to FILE instead of stdout
${VERB_FLAGS_HELP}

Examples:
  taskferry audit --task task_01M800TAA76RWNMDMVRFVC5GA9
  taskferry audit verify
  taskferry audit export --out audit.jsonl
`,
  async run(args) {
    const verb = args[0] && !args[0].startsWith("-") ? args[0] : "show";
    const rest = verb === args[0] ? args.slice(1) : args;
    const { values, positionals } = parseFlags("audit", rest, {
      ...VERB_FLAGS,
      task: { type: "string" },
      out: { type: "string" },
    }, true);
    if (positionals.length) throw new UsageError(`audit ${verb} takes no arguments`);
    if (values.out && verb !== "export") throw new UsageError("--out is for audit export");
    const api = daemonClient(values);
    const task = values.task;
    switch (verb) {
      case "show":
        return await runVerb(async () => {
          const events = await api.audit(task);
          output(
            values.json,
            { events },
            () => events.length ? events.map(line).join("\n") : "no task events yet",
          );
        });
      case "verify": {
        let ok = true;
        const code = await runVerb(async () => {
          const v = await api.verifyAudit(task);
          ok = v.ok;
          const events = v.tasks.reduce((n, t) => n + t.events, 0);
          output(
            values.json,
            v,
            () =>
              v.ok
                ? `ok: ${v.tasks.length} tasks, ${events} events, every chain holds`
                : v.tasks.filter((t) => t.broken_at !== null)
                  .map((t) => `BROKEN ${t.task_id}: the chain breaks at event #${t.broken_at}`)
                  .join("\n"),
          );
        });
        return code === EXIT.ok && !ok ? EXIT.failure : code;
      }
      case "export":
        return await runVerb(async () => {
          const events = await api.audit(task);
          const text = events.map((e) => JSON.stringify(e)).join("\n") +
            (events.length ? "\n" : "");
          if (values.out) {
            await Deno.writeTextFile(values.out, text);
            output(
              values.json,
              { file: values.out, events: events.length },
              () => `wrote ${events.length} events to ${values.out}`,
            );
          } else {
            await Deno.stdout.write(new TextEncoder().encode(text));
          }
        });
      default:
        throw new UsageError(`unknown audit verb '${verb}' (see: taskferry help audit)`);
    }
  },
};
