/** `taskferry agent writer|requester`: the rule-based demo agents. */
import { ensureAgent, runRequester, runWriter } from "../agents/mod.ts";
import { ApiError } from "../sdk/mod.ts";
import { AGENT_TOKEN_HELP, AGENT_TOKEN_USAGE, runAgentToken } from "./agent_token.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { ROTATE_KEY_HELP, rotateKey } from "./agent_keys.ts";
import { RUNTIME_TOKEN_FLAGS, RUNTIME_TOKEN_HELP, runtimeClient } from "./runtime_client.ts";

/** `taskferry agent` */
export const agentCommand: Command = {
  name: "agent",
  summary: "Run a demo agent (writer or requester); agent tokens; rotate an agent's keys",
  help: `Usage: taskferry agent writer --handle AGENT [options]
       taskferry agent requester --handle AGENT --peer PEER [options]
       taskferry agent rotate-key AGENT [--json]
${AGENT_TOKEN_USAGE}

Rule-based demo agents that use only the loopback API. The writer accepts connection requests
and tasks, submits a draft and answers revision requests. The requester connects to PEER,
creates a task, asks for one revision and completes on v2. Both wait on the long-poll API and
pick up where they left off after a restart. Give them an agent token (--token or
TASKFERRY_AGENT_TOKEN); the owner's token works too, with a warning.

${AGENT_TOKEN_HELP}

Options:
  --handle AGENT     the agent to run as [env TASKFERRY_AGENT]
  --peer PEER        (requester) the writer to send the task to [env TASKFERRY_PEER]
  --create           create the agent on the daemon if it does not exist
  --title TEXT       (requester) task title
  --once             (requester) exit 0 when the task is completed
${RUNTIME_TOKEN_HELP}
  --url URL            daemon API [env TASKFERRY_CLIENT_URL; default: $TASKFERRY_HOME/daemon.json]
  --home DIR           data directory [env TASKFERRY_HOME; default ~/.taskferry]
  --json               (agent token …) print JSON

${ROTATE_KEY_HELP}

Examples:
  taskferry agent rotate-key @alice/requester
  taskferry agent writer --handle @bob/writer --create
  taskferry agent requester --handle @alice/requester --peer @bob/writer --create --once
  taskferry agent token @bob/writer --label worker
  taskferry agent token list --json
`,
  async run(args) {
    const role = args[0];
    if (role === "rotate-key") return rotateKey(args.slice(1));
    if (role === "token") return await runAgentToken(args.slice(1));
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
      ...RUNTIME_TOKEN_FLAGS,
    });
    const handle = values.handle ?? Deno.env.get("TASKFERRY_AGENT");
    const peer = values.peer ?? Deno.env.get("TASKFERRY_PEER");
    if (!handle) throw new UsageError("--handle is required (see: taskferry help agent)");
    if (role === "requester" && !peer) {
      throw new UsageError("the requester needs --peer (see: taskferry help agent)");
    }
    const api = runtimeClient(values, (message) => console.error(`taskferry agent: ${message}`));
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
          ? " (check the token: --token, TASKFERRY_AGENT_TOKEN or a revoked agent token?)"
          : err.code === "forbidden"
          ? " (an agent token acts only as its own agent: check --handle)"
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
