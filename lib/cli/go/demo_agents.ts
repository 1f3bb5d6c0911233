/**
 * The Go project's demo binaries `writer-agent` and `requester-agent`, with their flags and
 * defaults, over our demo agents (lib/agents). As in Go, each registers its agent, the
 * requester exits when its task is completed, the writer when it sees a task completed, and
 * both give up after two minutes (exit 1).
 */
import { ensureAgent, runRequester, runWriter } from "../../agents/mod.ts";
import { ApiError } from "../../sdk/mod.ts";
import { type Command, parseFlags } from "../command.ts";
import { deprecation } from "../env_aliases.ts";
import { goClient } from "./common.ts";

/** The Go agents' deadline. */
const DEADLINE_MS = 120_000;

const DEFAULTS = {
  writer: { url: "http://127.0.0.1:4319", handle: "@bob/writer" },
  requester: { url: "http://127.0.0.1:4318", handle: "@alice/requester" },
} as const;

/** The Go requester's task. */
const TITLE = "Write three concise fantasy RPG ad lines";
const INSTRUCTIONS = `Write three concise ad lines for a fantasy RPG.
Requirements:
- exactly three lines
- each line under 80 characters
- mention adventure, magic or heroes`;

function goAgent(role: "writer" | "requester"): Command {
  const name = `${role}-agent`;
  const d = DEFAULTS[role];
  return {
    name,
    summary: `Run the Go TaskFerry's demo ${role} (same flags; see also 'taskferry agent')`,
    help: `Usage: taskferry ${name} [--base-url URL] [--api-token TOKEN] [--handle AGENT]${
      role === "requester" ? " [--writer AGENT]" : ""
    }

The Go TaskFerry's demo ${role}: registers ${d.handle} (public) on the daemon, then ${
      role === "writer"
        ? "accepts connection requests and tasks, submits a draft, answers\nrevision requests, and exits when a task it worked on is completed."
        : "asks the writer for a connection, sends it a task, asks for one\nrevision and completes the task on version 2, then exits."
    } Gives up (exit 1) after 2 minutes.

Options:
  --base-url URL     daemon API [default ${d.url}]
  --api-token TOKEN  local API token [env TASKFERRY_LOCAL_API_TOKEN (AGENTCHAT_LOCAL_API_TOKEN);
                     default $TASKFERRY_HOME/local-token]
  --handle AGENT     the agent to run as [default ${d.handle}]${
      role === "requester"
        ? "\n  --writer AGENT     the writer to send the task to [default @bob/writer]"
        : ""
    }
`,
    async run(args) {
      const { values } = parseFlags(
        name,
        args,
        {
          "base-url": { type: "string" },
          "api-token": { type: "string" },
          handle: { type: "string" },
          ...(role === "requester" ? { writer: { type: "string" } } : {}),
        } as const,
      );
      const v = values as Record<string, string | undefined>;
      let token = v["api-token"] ?? Deno.env.get("TASKFERRY_LOCAL_API_TOKEN");
      const legacy = Deno.env.get("AGENTCHAT_LOCAL_API_TOKEN");
      if (!token && legacy) {
        deprecation(
          "AGENTCHAT_LOCAL_API_TOKEN",
          "TASKFERRY_LOCAL_API_TOKEN",
          "the AGENTCHAT_ prefix is the Go project's pre-rename spelling",
        );
        token = legacy;
      }
      const api = goClient({ "base-url": v["base-url"] ?? d.url, "api-token": token });
      const handle = v.handle ?? d.handle;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort("deadline"), DEADLINE_MS);
      const stop = () => ac.abort("signal");
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      const log = (line: string) => console.log(`${new Date().toISOString()} ${handle} ${line}`);
      try {
        await ensureAgent(api, handle, true);
        log(`running as ${role} against ${api.url}`);
        if (role === "requester") {
          const done = await runRequester({
            api,
            handle,
            peer: v.writer ?? "@bob/writer",
            title: TITLE,
            instructions: INSTRUCTIONS,
            once: true,
            log,
            signal: ac.signal,
          });
          if (done) return 0;
        } else {
          const start = (await api.inbox({ agent: handle, after: "latest" })).next_after;
          // As in Go: the writer's work ends with the first task_complete it receives.
          const completed = api.waitForInbox(handle, (m) => m.type === "task_complete", {
            after: start,
            timeoutMs: DEADLINE_MS,
          }).then((r) => {
            log(`task ${r.item.task_id ?? ""} completed`);
            ac.abort("done");
          }, () => {});
          await runWriter({ api, handle, log, signal: ac.signal });
          void completed; // its long poll ends with the process
          if (ac.signal.reason === "done") return 0;
        }
        if (ac.signal.reason === "deadline") {
          console.error(`taskferry ${name}: gave up after 2 minutes`);
        }
        return 1;
      } catch (err) {
        if (err instanceof ApiError) {
          console.error(`taskferry ${name}: ${err.code}: ${err.message}`);
          return 1;
        }
        throw err;
      } finally {
        clearTimeout(timer);
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
      }
    },
  };
}

/** `writer-agent` */
export const writerAgentCommand = goAgent("writer");
/** `requester-agent` */
export const requesterAgentCommand = goAgent("requester");
