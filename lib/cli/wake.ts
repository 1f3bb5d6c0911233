/** `taskferry wake`: run a command when a local agent's inbox gets something new. */
import { join } from "node:path";
import { logger } from "../log.ts";
import { loopbackWorkerApi, runWake, splitWords } from "../worker/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient } from "./daemon_client.ts";
import { flagOptions, resolveCommandSettings, type Setting, settingsHelp } from "./settings.ts";
import { DAEMON_FLAGS_HELP, splitPassThrough } from "./worker.ts";

/** Every wake setting: flag = env = config-file key (section "wake"). */
export const WAKE_SETTINGS: readonly Setting[] = [
  {
    flag: "agent",
    env: "TASKFERRY_WAKE_AGENT",
    key: "agent",
    kind: "string",
    meta: "HANDLE",
    help: "The local agent whose inbox is watched (required)",
  },
  {
    flag: "exec",
    env: "TASKFERRY_WAKE_EXEC",
    key: "exec",
    kind: "string",
    meta: "'CMD [ARGS…]'",
    help: "Command per batch of new items, split into words, no shell (required)",
  },
  {
    flag: "debounce",
    env: "TASKFERRY_WAKE_DEBOUNCE",
    key: "debounce",
    kind: "duration",
    default: "500ms",
    help: "Quiet time after an item before the command runs (a batch)",
  },
  {
    flag: "timeout",
    env: "TASKFERRY_WAKE_TIMEOUT",
    key: "timeout",
    kind: "duration",
    defaultLabel: "none",
    help: "Longest run of the command",
  },
  {
    flag: "grace",
    env: "TASKFERRY_WAKE_GRACE",
    key: "grace",
    kind: "duration",
    default: "5s",
    help: "SIGKILL follows SIGTERM to a stopped command's group after this",
  },
  {
    flag: "workdir",
    env: "TASKFERRY_WAKE_WORKDIR",
    key: "workdir",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/wake/<agent>",
    help: "The command's working directory",
  },
  {
    flag: "config",
    env: "TASKFERRY_CONFIG",
    key: "config",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/config.json if present",
    help: 'JSON config file; wake keys go under "wake"',
  },
];

/** `taskferry wake` */
export const wakeCommand: Command = {
  name: "wake",
  summary: "Run a command whenever a local agent's inbox gets new items",
  help: `Usage: taskferry wake --agent HANDLE --exec 'CMD [ARGS…]' [options] [-- EXTRA ARGS…]

For agents that run interactively: each new inbox item of HANDLE (debounced) runs CMD once,
with only ids and paths in its environment, never content: TASKFERRY_AGENT, TASKFERRY_WAKE_IDS
(message ids, comma-separated), TASKFERRY_WAKE_TYPES, TASKFERRY_WAKE_TASK_IDS,
TASKFERRY_INBOX_AFTER / TASKFERRY_INBOX_NEXT (the inbox cursor before and after the batch) and
TASKFERRY_CLIENT_URL. The command reads the items itself (e.g. taskferry inbox --after N).
One run at a time; items arriving during a run make one more run after it.

Options:
${settingsHelp(WAKE_SETTINGS)}
${DAEMON_FLAGS_HELP}

Examples:
  taskferry wake --agent @bob/writer --exec 'notify-send TaskFerry "new work"'
  taskferry wake --agent @bob/writer --exec ./on-inbox.sh --debounce 2s
`,
  async run(args) {
    const { flags, extra } = splitPassThrough(args);
    const values = parseFlags("wake", flags, {
      ...flagOptions(WAKE_SETTINGS),
      url: { type: "string" },
      token: { type: "string" },
      home: { type: "string" },
    }).values as Record<string, string | boolean | undefined>;
    const { home, s } = resolveCommandSettings("wake", WAKE_SETTINGS, values);
    const agent = s.agent as string | undefined;
    if (!agent) throw new UsageError("--agent is required (see: taskferry help wake)");
    let command: string[] = [];
    try {
      if (s.exec) command = splitWords(s.exec as string);
    } catch (err) {
      throw new UsageError(`--exec: ${(err as Error).message}`);
    }
    if (!command.length) throw new UsageError("--exec is required (see: taskferry help wake)");
    const client = daemonClient({
      home,
      ...(typeof values.url === "string" ? { url: values.url } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    });
    const ac = new AbortController();
    const stop = () => ac.abort();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    try {
      await runWake({
        api: loopbackWorkerApi(client),
        agent,
        command: [...command, ...extra],
        debounceMs: s.debounce as number,
        graceMs: s.grace as number,
        ...(s.timeout ? { timeoutMs: s.timeout as number } : {}),
        workdir: (s.workdir as string | undefined) ??
          join(home, "wake", agent.replace(/^@/, "").replace("/", "_")),
        daemonUrl: client.url,
        log: logger("wake"),
        signal: ac.signal,
      });
      return 0;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    }
  },
};
