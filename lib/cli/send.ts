import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { checkHandle } from "./handle_hint.ts";
import { KEY_FLAG, KEY_FLAG_HELP, keyOption } from "./idempotency_flag.ts";
import type { MessageView } from "../sdk/mod.ts";
import { attachments, FILE_FLAGS } from "./files.ts";

/** `taskferry send` */
export const sendCommand: Command = {
  name: "send",
  summary: "Send a message to a connected agent",
  help: `Usage: taskferry send --from AGENT --to PEER [TEXT] [options]

TEXT defaults to standard input when omitted; a message needs non-empty TEXT or --data.

Options:
  --from AGENT        your agent
  --to PEER           recipient (repeatable)
  --data JSON         structured data instead of / besides text
  --reply-to MSG_ID   reply in the same conversation
${KEY_FLAG_HELP}
  --file PATH         attach a file (repeatable; regular files inside the daemon's --files-root)
${VERB_FLAGS_HELP}

Examples:
  taskferry send --from @alice/requester --to @bob/writer "Ready when you are."
  echo '{"k":1}' | taskferry send --from @alice/requester --to @bob/writer --data -
  taskferry send --from @alice/requester --to @bob/writer --file report.pdf "The report"
`,
  run(args) {
    const { values, positionals } = parseFlags("send", args, {
      ...VERB_FLAGS,
      ...KEY_FLAG,
      from: { type: "string" },
      to: { type: "string", multiple: true },
      data: { type: "string" },
      "reply-to": { type: "string" },
      ...FILE_FLAGS,
    }, true);
    if (!values.from || !values.to?.length) {
      throw new UsageError("send needs --from and --to (see: taskferry help send)");
    }
    const from = checkHandle(values.from, "--from");
    const to = values.to.map((t) => checkHandle(t, "--to"));
    return runVerb(async () => {
      const input: Parameters<ReturnType<typeof daemonClient>["send"]>[0] = { from, to };
      if (values.data !== undefined) {
        const raw = values.data === "-"
          ? await new Response(Deno.stdin.readable).text()
          : values.data;
        try {
          input.data = JSON.parse(raw);
        } catch {
          throw new UsageError("--data must be JSON");
        }
      }
      Object.assign(input, attachments(values.file));
      if (positionals.length) input.text = positionals.join(" ");
      else if (values.data === undefined && !values.file?.length) {
        input.text = await new Response(Deno.stdin.readable).text();
      }
      // Whitespace alone is no message: refuse here rather than deliver a blank line.
      if (input.text !== undefined && input.text.trim() === "") {
        if (input.data === undefined) {
          throw new UsageError(
            "send refuses an empty message: give TEXT (or pipe it on standard input) or --data JSON",
          );
        }
        delete input.text;
      }
      if (values["reply-to"]) input.reply_to = values["reply-to"];
      const result = await daemonClient(values).send(input, keyOption(values));
      output(values.json, result, () => `${result.message.id} ${result.message.state}`);
    });
  },
};

/** Width of an inbox line's preview, in characters. */
const PREVIEW_CHARS = 80;

/** `text` on one line (newlines shown as ⏎), cut to `max` characters with an ellipsis. */
export function preview(text: string, max = PREVIEW_CHARS): string {
  const flat = text.trim().replace(/\s*\r?\n\s*/g, " ⏎ ").replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

/** What an item says, in a few words: its text, or the artifact's first lines, or its title. */
function gist(p: Record<string, unknown>): string {
  const str = (k: string) => (typeof p[k] === "string" ? p[k] as string : undefined);
  if (typeof p.version === "number" && str("content") !== undefined) {
    return `v${p.version}${str("name") ? ` ${str("name")}` : ""}: ${str("content")}`;
  }
  const text = str("text") ?? str("feedback") ?? str("reason") ?? str("note");
  const title = str("title");
  if (title) return text ? `${title}: ${text}` : `${title}: ${str("instructions") ?? ""}`;
  if (text !== undefined) return text;
  return p.data !== undefined ? JSON.stringify(p.data) : JSON.stringify(p);
}

/** One inbox line for humans: cursor, time, type, sender, task and a one-line preview. */
export function describeItem(m: MessageView): string {
  return `#${m.seq ?? "-"} ${m.created_at} ${m.type.padEnd(18)} ${m.from.padEnd(24)} ${
    m.task_id ? `${m.task_id} ` : ""
  }${preview(gist(m.payload))}`;
}

/** `taskferry inbox` */
export const inboxCommand: Command = {
  name: "inbox",
  summary: "Read an agent's inbox (optionally waiting for new items)",
  help: `Usage: taskferry inbox [options]

Prints one line per item: its cursor, time, type, sender, task and a one-line preview of its
text or artifact (--json prints the items whole).

Options:
  --agent AGENT   whose inbox (optional when the daemon has one agent)
  --after N       only items after cursor N ("latest" for only new ones)
  --type TYPE     only this message type (message, task_request, artifact_submit, …)
  --wait SECONDS  long-poll up to this long for the first new item (max 300)
  --follow        keep waiting and print items as they come
${VERB_FLAGS_HELP}

Examples:
  taskferry inbox --agent @bob/writer
  taskferry inbox --agent @bob/writer --after latest --wait 60
`,
  run(args) {
    const { values } = parseFlags("inbox", args, {
      ...VERB_FLAGS,
      agent: { type: "string" },
      after: { type: "string" },
      type: { type: "string" },
      wait: { type: "string" },
      follow: { type: "boolean" },
    });
    if (values.agent) checkHandle(values.agent, "--agent");
    return runVerb(async () => {
      const api = daemonClient(values);
      let after: number | "latest" = values.after === "latest"
        ? "latest"
        : Number(values.after ?? 0);
      if (Number.isNaN(after)) throw new UsageError("--after takes a number or 'latest'");
      const wait = Number(values.wait ?? (values.follow ? 60 : 0));
      do {
        const q: Parameters<typeof api.inbox>[0] = { after, wait };
        if (values.agent) q.agent = values.agent;
        if (values.type) q.type = values.type;
        const page = await api.inbox(q);
        if (values.json && !values.follow) console.log(JSON.stringify(page, null, 2));
        else if (values.json) { for (const item of page.items) console.log(JSON.stringify(item)); }
        else if (page.items.length === 0 && !values.follow) console.log("(no items)");
        else for (const item of page.items) console.log(describeItem(item));
        after = page.next_after;
      } while (values.follow);
    });
  },
};
