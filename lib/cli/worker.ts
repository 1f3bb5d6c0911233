/** `taskferry worker`: run a local agent's tasks with a command, Claude Code or Codex. */
import { join } from "node:path";
import { logger } from "../log.ts";
import { ApiError } from "../sdk/mod.ts";
import {
  acquireWorkerLock,
  loopbackWorkerApi,
  PRESET_NAMES,
  presetFor,
  splitWords,
  Worker,
} from "../worker/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient } from "./daemon_client.ts";
import { flagOptions, resolveCommandSettings, type Setting, settingsHelp } from "./settings.ts";

/** Every worker setting: flag = env = config-file key (section "worker"). */
export const WORKER_SETTINGS: readonly Setting[] = [
  {
    flag: "agent",
    env: "TASKFERRY_WORKER_AGENT",
    key: "agent",
    kind: "string",
    meta: "HANDLE",
    help: "The local agent whose tasks are run, e.g. @bob/writer (required)",
  },
  {
    flag: "exec",
    env: "TASKFERRY_WORKER_EXEC",
    key: "exec",
    kind: "string",
    meta: "'CMD [ARGS…]'",
    help: "Command per run, split into words (no shell); with --preset: the CLI",
  },
  {
    flag: "preset",
    env: "TASKFERRY_WORKER_PRESET",
    key: "preset",
    kind: "string",
    meta: "claude|codex",
    help: "Run Claude Code or Codex headless; revisions resume the session",
  },
  {
    flag: "a2a",
    env: "TASKFERRY_WORKER_A2A",
    key: "a2a",
    kind: "string",
    meta: "URL",
    help: "Send each round to the local A2A server agent at URL, not a command",
  },
  {
    flag: "concurrency",
    env: "TASKFERRY_WORKER_CONCURRENCY",
    key: "concurrency",
    kind: "int",
    default: "1",
    min: 1,
    max: 64,
    help: "Runs at once; other tasks wait in order and hear their queue position",
  },
  {
    flag: "timeout",
    env: "TASKFERRY_WORKER_TIMEOUT",
    key: "timeout",
    kind: "duration",
    defaultLabel: "none",
    help: "Longest run; then it is stopped and the task fails (code timeout)",
  },
  {
    flag: "grace",
    env: "TASKFERRY_WORKER_GRACE",
    key: "grace",
    kind: "duration",
    default: "5s",
    help: "SIGKILL follows SIGTERM to a stopped run's process group after this",
  },
  {
    flag: "workdir",
    env: "TASKFERRY_WORKER_WORKDIR",
    key: "workdir",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/worker/<agent>",
    help: "Per-task working directories (kept across revisions) and journal",
  },
  {
    flag: "config",
    env: "TASKFERRY_CONFIG",
    key: "config",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/config.json if present",
    help: 'JSON config file; worker keys go under "worker"',
  },
];

/** How the worker and wake find the daemon (like every verb; see daemon_client.ts). */
export const DAEMON_FLAGS_HELP =
  `  --url URL                     daemon API [env TASKFERRY_CLIENT_URL; default from
                                $TASKFERRY_HOME/daemon.json]
  --token TOKEN                 local API token [env TASKFERRY_LOCAL_API_TOKEN; default
                                $TASKFERRY_HOME/local-token]; never passed to the command
  --home DIR                    data directory [env TASKFERRY_HOME; default ~/.taskferry]`;

/** Splits `args` at `--`: flags before, pass-through arguments after. */
export function splitPassThrough(args: string[]): { flags: string[]; extra: string[] } {
  const i = args.indexOf("--");
  return i < 0 ? { flags: args, extra: [] } : { flags: args.slice(0, i), extra: args.slice(i + 1) };
}

/** `taskferry worker` */
export const workerCommand: Command = {
  name: "worker",
  summary: "Run a local agent's tasks with a command, Claude Code, Codex or an A2A agent",
  help: `Usage: taskferry worker --agent HANDLE --exec 'CMD [ARGS…]' [options] [-- EXTRA ARGS…]
       taskferry worker --agent HANDLE --preset claude|codex [options] [-- EXTRA ARGS…]
       taskferry worker --agent HANDLE --a2a URL [options]

Accepts the tasks that reach HANDLE (after the owner's approval gate) and runs one process per
task round. The process gets the prompt on stdin and, in its environment, only ids and paths:
TASKFERRY_TASK_ID, TASKFERRY_TASK_FILE (the whole task as JSON), TASKFERRY_OUTPUT_DIR (text files
written there are attached to the artifact), TASKFERRY_REVISION (0, 1, …) and TASKFERRY_AGENT.
Its stdout lines are sent as progress; exit 0 submits stdout as the next artifact version; any
other exit, a crash or --timeout fails the task with the status and the last stderr lines. A
cancel stops the process group. Execution is at-least-once: a round interrupted by a restart
runs again, but is never submitted twice. One worker per agent (a second one refuses to start).
Arguments after -- are passed to the command.
With --a2a, each round goes to a local A2A server agent instead (one A2A message per round; its
status messages are progress, its artifact the result; revisions continue the same A2A task and
a cancel cancels it). --a2a, --exec and --preset are exclusive (--exec may name a preset's CLI).
Settings come from flags, then environment variables, then the config file, then defaults.

Options:
${settingsHelp(WORKER_SETTINGS)}
${DAEMON_FLAGS_HELP}

Examples:
  taskferry worker --agent @bob/writer --exec './summarise.sh --short'
  taskferry worker --agent @bob/writer --exec 'sh -c "wc -w"'
  taskferry worker --agent @bob/coder --preset claude -- --permission-mode acceptEdits
  taskferry worker --agent @bob/coder --preset codex --concurrency 2 -- --sandbox workspace-write
  taskferry worker --agent @bob/helper --a2a http://127.0.0.1:9999

See docs/worker.md for the full contract and security notes.
`,
  async run(args) {
    const { flags, extra } = splitPassThrough(args);
    const values = parseFlags("worker", flags, {
      ...flagOptions(WORKER_SETTINGS),
      url: { type: "string" },
      token: { type: "string" },
      home: { type: "string" },
    }).values as Record<string, string | boolean | undefined>;
    const { home, s } = resolveCommandSettings("worker", WORKER_SETTINGS, values);
    const agent = s.agent as string | undefined;
    if (!agent) throw new UsageError("--agent is required (see: taskferry help worker)");
    const presetName = s.preset as string | undefined;
    if (presetName !== undefined && !(PRESET_NAMES as readonly string[]).includes(presetName)) {
      throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(", ")}`);
    }
    let base: string[] = [];
    try {
      if (s.exec) base = splitWords(s.exec as string);
    } catch (err) {
      throw new UsageError(`--exec: ${(err as Error).message}`);
    }
    const a2a = s.a2a as string | undefined;
    if (a2a !== undefined && (base.length || presetName)) {
      throw new UsageError("--a2a cannot be combined with --exec or --preset: pick one executor");
    }
    if (a2a !== undefined && !/^https?:\/\/[^\s]+$/.test(a2a)) {
      throw new UsageError("--a2a takes the agent's base URL, e.g. http://127.0.0.1:9999");
    }
    if (!base.length && !presetName && !a2a) {
      throw new UsageError(
        "--exec or --preset is required, or --a2a URL (see: taskferry help worker)",
      );
    }
    const client = daemonClient({
      home,
      ...(typeof values.url === "string" ? { url: values.url } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    });
    const log = logger("worker");
    try {
      const agents = await client.agents();
      if (!agents.some((a) => a.handle === agent)) {
        console.error(`taskferry worker: unknown_agent: ${agent} is not an agent of this daemon`);
        return 1;
      }
    } catch (err) {
      // Unreachable now: the worker waits for the daemon. Refused: say why and stop.
      if (err instanceof ApiError && err.code !== "unavailable" && err.code !== "forbidden") {
        console.error(`taskferry worker: ${err.code}: ${err.message}`);
        return 1;
      }
    }
    const slug = agent.replace(/^@/, "").replace("/", "_");
    const workdir = (s.workdir as string | undefined) ?? join(home, "worker", slug);
    const worker = new Worker(loopbackWorkerApi(client), {
      agent,
      base,
      preset: presetFor(presetName),
      ...(a2a ? { a2a } : {}),
      extraArgs: extra,
      workdir,
      concurrency: s.concurrency as number,
      ...(s.timeout ? { timeoutMs: s.timeout as number } : {}),
      graceMs: s.grace as number,
      log,
    });
    // One worker per agent and daemon home (two would run every round twice).
    Deno.mkdirSync(join(home, "worker"), { recursive: true, mode: 0o700 });
    const lock = acquireWorkerLock(join(home, "worker", `${slug}.lock`));
    if ("heldBy" in lock) {
      console.error(
        `taskferry worker: conflict: a worker for ${agent} already runs (pid ${lock.heldBy}); ` +
          "run one worker per agent (raise --concurrency instead)",
      );
      return 1;
    }
    const ac = new AbortController();
    const stop = () => ac.abort();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    log.info("worker started", { agent, daemon: client.url, workdir, preset: presetName, a2a });
    try {
      await worker.run(ac.signal);
      return 0;
    } finally {
      lock.release();
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    }
  },
};
