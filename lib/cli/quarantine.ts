/** `taskferry quarantine`: envelopes the daemon holds for the owner (changed keys, forgeries). */
import type { QuarantineItemView } from "../sdk/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";

/** One held item for humans. */
function line(i: QuarantineItemView): string {
  const kept = i.complete ? "whole" : "4 KB kept";
  const key = i.presented_key
    ? `  pinned ${i.pinned_fingerprint ?? "-"}, relay now serves another key`
    : "";
  return `#${i.seq} ${i.created_at} ${i.id} from ${i.from} ${i.reason} ${
    i.type ?? "-"
  } ${i.size} B (${kept})${key}`;
}

/** `taskferry quarantine` */
export const quarantineCommand: Command = {
  name: "quarantine",
  summary: "List held envelopes (changed keys, forgeries); accept a key change or reject",
  help: `Usage: taskferry quarantine [list] [--limit N] [--before SEQ] [options]
       taskferry quarantine accept ID
       taskferry quarantine reject ID

list     held items, newest first, one page (--limit, default 100); the last line says how to
         get the next page (--before SEQ)
accept   trust the sender's new key (key_changed items only) and apply what was held from it —
         check the new fingerprint with the peer's owner first
reject   delete the item; the pinned key stays

Options:
  --limit N       items per page (1–500)
  --before SEQ    items older than SEQ (from the previous page)
${VERB_FLAGS_HELP}

Examples:
  taskferry quarantine
  taskferry quarantine accept msg_01M801D3ZQ5S9XBA4W5M4E8N7C
  taskferry quarantine reject raw_6f1c…
`,
  run(args) {
    const verb = args[0] && !args[0].startsWith("-") ? args[0] : "list";
    const rest = verb === args[0] ? args.slice(1) : args;
    const { values, positionals } = parseFlags("quarantine", rest, {
      ...VERB_FLAGS,
      limit: { type: "string" },
      before: { type: "string" },
    }, true);
    const api = daemonClient(values);
    if (verb === "list") {
      if (positionals.length) throw new UsageError("quarantine list takes no arguments");
      const num = (v: string | undefined, name: string) => {
        if (v === undefined) return undefined;
        if (!/^\d+$/.test(v)) throw new UsageError(`--${name} is a whole number`);
        return Number(v);
      };
      const limit = num(values.limit, "limit");
      const before = num(values.before, "before");
      return runVerb(async () => {
        const page = await api.quarantine({
          ...(limit !== undefined ? { limit } : {}),
          ...(before !== undefined ? { before } : {}),
        });
        output(values.json, page, () => {
          if (page.items.length === 0) return "quarantine is empty";
          const more = page.next_before === null
            ? ""
            : `\nmore: taskferry quarantine --before ${page.next_before}`;
          return page.items.map(line).join("\n") + more;
        });
      });
    }
    if (verb !== "accept" && verb !== "reject") {
      throw new UsageError(`unknown quarantine verb '${verb}' (see: taskferry help quarantine)`);
    }
    if (positionals.length !== 1) {
      throw new UsageError(`quarantine ${verb} takes one ID (see: taskferry help quarantine)`);
    }
    return runVerb(async () => {
      const r = await api.resolveQuarantine(positionals[0]!, verb === "accept");
      output(
        values.json,
        r,
        () =>
          r.resolution === "accepted"
            ? `accepted ${r.id}: key re-pinned, ${r.applied} applied${
              r.dropped ? `, ${r.dropped} dropped (kept only in part)` : ""
            }`
            : `rejected ${r.id}`,
      );
    });
  },
};
