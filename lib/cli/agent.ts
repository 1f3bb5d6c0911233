/** `taskferry agent writer|requester`: the rule-based demo agents. */
import { ensureAgent, runRequester, runWriter } from "../agents/mod.ts";
import { ApiError } from "../sdk/mod.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { ROTATE_KEY_HELP, rotateKey } from "./agent_keys.ts";

/** `taskferry agent` */
export const agentCommand: Command = {
  name: "agent",
  summary: "Run a demo agent (writer or requester) against the local daemon",
  help: `Usage: taskferry agent writer --handle AGENT [options]
       taskferry agent requester --handle AGENT --peer PEER [options]
       taskferry agent rotate-key AGENT [--json]

Rule-based demo agents that use only the loopback API. The writer accepts connection requests
and tasks, submits a draft and answers revision requests. The requester connects to PEER,
creates a task, asks for one revision and completes on v2. Both wait on the long-poll API and
pick up where they left off after a restart.

Options:
  --handle AGENT     the agent to run as [env TASKFERRY_AGENT]
  --peer PEER        (requester) the writer to send the task to [env TASKFERRY_PEER]
  --create           create the agent on the daemon if it does not exist
  --title TEXT       (requester) task title
  --once             (requester) exit 0 when the task is completed
${VERB_FLAGS_HELP}

${ROTATE_KEY_HELP}

Examples:
  taskferry agent rotate-key @alice/requester
  taskferry agent writer --handle @bob/writer --create
  taskferry agent requester --handle @alice/requester --peer @bob/writer --create --once
`,
  async run(args) {
    const role = args[0];
    if (role === "rotate-key") return rotateKey(args.slice(1));
    if (role !== "writer" && role !== "requester") {
      throw new UsageError("agent needs a role: writer or requester (see: taskferry help agent)");
    }
    const { values } = parseFlags("agent", args.slice(1), {
      json: { type: "boolean" },
      url: { type: "string" },
      token: { type: "string" },
      home: { type: "string" },
      handle: { type: "string" },
      peer: { type: "string" },
      create: { type: "boolean" },
      title: { type: "string" },
      once: { type: "boolean" },
    });
    const handle = values.handle ?? Deno.env.get("TASKFERRY_AGENT");
    const peer = values.peer ?? Deno.env.get("TASKFERRY_PEER");
    if (!handle) throw new UsageError("--handle is required (see: taskferry help agent)");
    if (role === "requester" && !peer) {
      throw new UsageError("the requester needs --peer (see: taskferry help agent)");
    }
    const api = daemonClient(values);
    const ac = new AbortController();
    const stop = () => ac.abort();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    const log = (line: string) => console.log(`${new Date().toISOString()} ${handle} ${line}`);
    try {
      await ensureAgent(api, handle, values.create === true);
      log(`running as ${role} against ${api.url}`);
      if (role === "writer") {
        await runWriter({ api, handle, log, signal: ac.signal });
      } else {
        const opts: Parameters<typeof runRequester>[0] = {
          api,
          handle,
          peer: peer!,
          log,
          signal: ac.signal,
        };
        if (values.title) opts.title = values.title;
        if (values.once) opts.once = true;
        const done = await runRequester(opts);
        if (values.once && !done) return 1;
      }
      return 0;
    } catch (err) {
      if (err instanceof ApiError) {
        const hint = err.code === "unavailable"
          ? " (is `taskferry client` running? set --url/--home or TASKFERRY_HOME)"
          : err.code === "unauthorized"
          ? " (check the local API token: --token or $TASKFERRY_HOME/local-token)"
          : "";
        console.error(`taskferry agent: ${err.code}: ${err.message}${hint}`);
        return 1;
      }
      throw err;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    }
  },
};
