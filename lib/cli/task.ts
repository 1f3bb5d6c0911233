import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { checkHandle } from "./handle_hint.ts";
import { KEY_FLAG, KEY_FLAG_HELP, keyOption } from "./idempotency_flag.ts";
import { parseDiffRange, parseVersion, showTask, taskLine as line } from "./task_show.ts";
import { attachments, FILE_FLAGS, fileLines, saveTaskFiles } from "./files.ts";

const SUBS = [
  "create",
  "list",
  "show",
  "accept",
  "claim",
  "decline",
  "submit",
  "revise",
  "complete",
  "cancel",
  "approve",
  "reject",
];

async function readText(value: string | undefined, what: string): Promise<string> {
  if (value === undefined) throw new UsageError(`${what} is required`);
  if (value === "-") return await new Response(Deno.stdin.readable).text();
  if (value.startsWith("@") && !value.startsWith("@@")) {
    try {
      return await Deno.readTextFile(value.slice(1));
    } catch (err) {
      throw new UsageError(`cannot read ${value.slice(1)}: ${(err as Error).message}`);
    }
  }
  return value;
}

/** `taskferry task …` */
export const taskCommand: Command = {
  name: "task",
  summary: "Create and act on tasks (create, list, show, accept, submit, revise, complete, …)",
  help: `Usage: taskferry task <subcommand> [TASK_ID] [options]

Subcommands:
  create --from AGENT --to PEER --title TEXT --instructions TEXT [--deadline ISO] [--max-revisions N]
         [--file PATH]…             input files (repeatable)
         [--lease-seconds N]        --to PEER,PEER,… or cap:NAME offers the task to several
                                    agents; the first to claim it works on it
  list [--agent AGENT] [--state STATE]
  show TASK_ID [--version N | --diff A..B] [--save DIR]
                                    the task, its timeline and the latest artifact's content
                                    (or version N, or the unified diff from vA to vB) and its
                                    files; --save fetches the verified files into DIR (v<N>/ per
                                    version)
  accept TASK_ID                    (worker)
  claim TASK_ID [--note TEXT]       claim an offered task (candidate)
  decline TASK_ID [--reason TEXT]   (worker)
  submit TASK_ID --content TEXT [--file PATH]…
                                    submit the next artifact version with files (worker)
  revise TASK_ID --feedback TEXT    request a revision of the latest artifact (requester)
  complete TASK_ID [--note TEXT]    (requester)
  cancel TASK_ID [--reason TEXT]    (requester)
  approve TASK_ID | reject TASK_ID  the owner's decision on a gated task

Text options take '-' for standard input and '@FILE' for a file's contents.
--agent names the acting agent when this daemon holds both parties.

Options of create and the task actions:
${KEY_FLAG_HELP}

${VERB_FLAGS_HELP}

Examples:
  taskferry task create --from @alice/requester --to @bob/writer --title "Haiku" --instructions "About ferries"
  taskferry task show task_01J… --diff 1..2
  taskferry task submit task_01J… --content @draft.md
  taskferry task submit task_01J… --content "fix" --file a.patch --file shot.png
  taskferry task revise task_01J… --feedback "Shorter, please"
`,
  run(args) {
    const sub = args[0];
    if (!sub || sub.startsWith("-")) {
      throw new UsageError(
        `task needs a subcommand: ${SUBS.join(", ")} (see: taskferry help task)`,
      );
    }
    if (!SUBS.includes(sub)) {
      throw new UsageError(
        `unknown subcommand 'task ${sub}': use one of ${
          SUBS.join(", ")
        } (see: taskferry help task)`,
      );
    }
    const { values, positionals } = parseFlags("task", args.slice(1), {
      ...VERB_FLAGS,
      ...KEY_FLAG,
      agent: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      title: { type: "string" },
      instructions: { type: "string" },
      deadline: { type: "string" },
      "max-revisions": { type: "string" },
      "lease-seconds": { type: "string" },
      state: { type: "string" },
      reason: { type: "string" },
      note: { type: "string" },
      content: { type: "string" },
      "content-type": { type: "string" },
      name: { type: "string" },
      feedback: { type: "string" },
      version: { type: "string" },
      diff: { type: "string" },
      // Files (lib/cli/files.ts)
      ...FILE_FLAGS,
      save: { type: "string" },
    }, true);
    const needsId = !["create", "list"].includes(sub);
    if (needsId && positionals.length !== 1) throw new UsageError(`task ${sub} takes one TASK_ID`);
    if (!needsId && positionals.length) {
      throw new UsageError(`task ${sub} takes no positional arguments`);
    }
    const id = positionals[0]!;
    if ((values.version !== undefined || values.diff !== undefined) && sub !== "show") {
      throw new UsageError(`--version and --diff belong to task show, not task ${sub}`);
    }
    if (values.version !== undefined && values.diff !== undefined) {
      throw new UsageError("task show takes --version N or --diff A..B, not both");
    }
    const view = {
      ...(values.version !== undefined ? { version: parseVersion(values.version) } : {}),
      ...(values.diff !== undefined ? { diff: parseDiffRange(values.diff) } : {}),
    };
    if (values.agent) checkHandle(values.agent, "--agent");
    const agent = values.agent ? { agent: values.agent } : {};
    const key = keyOption(values);
    return runVerb(async () => {
      const api = daemonClient(values);
      switch (sub) {
        case "create": {
          if (!values.from || !values.to || !values.title || values.instructions === undefined) {
            throw new UsageError(
              "task create needs --from, --to, --title and --instructions (see: taskferry help task)",
            );
          }
          const instructions = await readText(values.instructions, "--instructions");
          if (instructions.trim() === "") {
            throw new UsageError("--instructions is empty: say what the worker should do");
          }
          // An offer (design §13): several handles, or cap:NAME (every peer advertising it).
          const several = values.to.includes(",");
          const to = values.to.startsWith("cap:")
            ? values.to
            : several
            ? values.to.split(",").map((h) => checkHandle(h.trim(), "--to"))
            : checkHandle(values.to, "--to");
          const input: Record<string, unknown> = {
            from: checkHandle(values.from, "--from"),
            to,
            title: values.title,
            instructions,
          };
          if (several) input.claim = true;
          if (values.deadline) input.deadline = values.deadline;
          if (values["max-revisions"]) input.max_revisions = Number(values["max-revisions"]);
          if (values["lease-seconds"]) input.lease_seconds = Number(values["lease-seconds"]);
          Object.assign(input, attachments(values.file));
          const r = await api.request<Awaited<ReturnType<typeof api.createTask>>>(
            "POST",
            "/v1/tasks",
            input,
            undefined,
            key,
          );
          return output(values.json, r, () => line(r.task));
        }
        case "list": {
          const q: Parameters<typeof api.tasks>[0] = {};
          if (values.agent) q.agent = values.agent;
          if (values.state) q.state = values.state;
          const tasks = await api.tasks(q);
          return output(
            values.json,
            { tasks },
            () => tasks.length ? tasks.map(line).join("\n") : "(no tasks)",
          );
        }
        case "show": {
          const d = await api.task(id);
          // Resolve the view before printing, so --json fails the same way on a bad version.
          const text = showTask(d, view);
          const files = [
            ...fileLines(d.task.files),
            ...d.artifacts.flatMap((a) => fileLines(a.files).map((l) => `v${a.version}${l}`)),
          ];
          const saved = values.save ? await saveTaskFiles(api, d, values.save, values.agent) : [];
          return output(values.json, d, () => [text, ...files, ...saved].join("\n"));
        }
        case "approve":
        case "reject": {
          const d = sub === "approve"
            ? await api.approveTask(id)
            : await api.rejectTask(id, values.reason);
          return output(values.json, d, () => line(d.task));
        }
      }
      let r;
      switch (sub) {
        case "accept":
          r = await api.acceptTask(
            id,
            { ...agent, ...(values.note ? { note: values.note } : {}) },
            key,
          );
          break;
        case "claim":
          r = await api.claimTask(
            id,
            { ...agent, ...(values.note ? { note: values.note } : {}) },
            key,
          );
          break;
        case "decline":
          r = await api.declineTask(id, {
            ...agent,
            ...(values.reason ? { reason: values.reason } : {}),
          }, key);
          break;
        case "submit": {
          const input: Parameters<typeof api.submitArtifact>[1] = {
            ...agent,
            content: await readText(values.content, "--content"),
          };
          if (values["content-type"]) input.content_type = values["content-type"];
          if (values.name) input.name = values.name;
          if (values.note) input.note = values.note;
          Object.assign(input, attachments(values.file));
          r = await api.submitArtifact(id, input, key);
          break;
        }
        case "revise":
          r = await api.requestRevision(id, {
            ...agent,
            feedback: await readText(values.feedback, "--feedback"),
          }, key);
          break;
        case "complete":
          r = await api.completeTask(id, {
            ...agent,
            ...(values.note ? { note: values.note } : {}),
          }, key);
          break;
        case "cancel":
          r = await api.cancelTask(id, {
            ...agent,
            ...(values.reason ? { reason: values.reason } : {}),
          }, key);
          break;
      }
      output(values.json, r, () => line(r!.task));
    });
  },
};
