/** `taskferry demo`: a relay, two daemons and both demo agents, running the whole flow. */
import { join } from "node:path";
import { agentClient, ensureAgent, runRequester, runWriter } from "../agents/mod.ts";
import { dashboardLoginUrl, type RunningDaemon, startDaemon } from "../client/mod.ts";
import {
  generateToken,
  hashToken,
  openSqliteRelayStore,
  type RunningRelay,
  startRelay,
} from "../relay/mod.ts";
import { TaskferryClient } from "../sdk/mod.ts";
import { setLogLevel } from "../log.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { waitForSignal } from "./relay.ts";
import { parseDuration } from "./settings.ts";

const REQUESTER = "@alice/requester";
const WRITER = "@bob/writer";
const DEMO_LINK_TTL_MS = 3_600_000;

/** Overrides for the dashboard's login links and extra routes (default: one-time links). */
export const demoHooks: {
  loginUrl?: (daemon: RunningDaemon) => string;
  mount?: Parameters<typeof startDaemon>[0]["mount"];
} = {};

function port(value: string | undefined, name: string): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${name} must be a port number`);
  }
  return Number(value);
}

/** `taskferry demo` */
export const demoCommand: Command = {
  name: "demo",
  summary: "Run the whole flow locally: relay, two daemons, two demo agents",
  help: `Usage: taskferry demo [options]

Starts a relay, two daemons (alice and bob, each with its own data dir) and the two demo
agents, and runs the whole task flow: connection request and accept, task request and accept,
artifact v1, revision request, artifact v2, complete. Prints one line per step with its
delivery state and the elapsed time, then the two dashboards' login links, and stays up until
Ctrl-C.

Options:
  --home DIR          keep the data here (default: a new temp dir)
  --once              exit when the flow completes: 0 on success, 1 with the reason otherwise
  --timeout DURATION  how long --once waits for the flow (default 60s)
  --relay-port N      relay port (default: a free one)
  --alice-port N      alice's daemon port (default: a free one)
  --bob-port N        bob's daemon port (default: a free one)
  --verbose           show the components' logs

Examples:
  taskferry demo
  taskferry demo --once
`,
  async run(args) {
    const { values } = parseFlags("demo", args, {
      home: { type: "string" },
      once: { type: "boolean" },
      timeout: { type: "string" },
      "relay-port": { type: "string" },
      "alice-port": { type: "string" },
      "bob-port": { type: "string" },
      verbose: { type: "boolean" },
    });
    const timeoutMs = parseDuration(values.timeout ?? "60s");
    if (timeoutMs === null) throw new UsageError("--timeout takes a duration like 60s or 2m");
    if (!values.verbose) setLogLevel("error");
    const home = values.home ?? await Deno.makeTempDir({ prefix: "taskferry-demo-" });
    Deno.mkdirSync(home, { recursive: true });
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    console.log(`TaskFerry demo — data in ${home}`);

    const store = openSqliteRelayStore(join(home, "relay.db"));
    const tokens: Record<string, string> = {};
    for (const id of ["alice", "bob"]) {
      tokens[id] = generateToken(id);
      const hash = await hashToken(tokens[id]!);
      if (!(await store.setClientToken(id, hash))) await store.addClient(id, hash, Date.now());
    }
    let relay: RunningRelay | null = null;
    const daemons: RunningDaemon[] = [];
    const ac = new AbortController();
    const agents: Promise<unknown>[] = [];
    const shutdown = async () => {
      ac.abort();
      await Promise.allSettled(agents);
      for (const d of daemons) await d.close().catch(() => {});
      await relay?.close().catch(() => {});
    };
    try {
      relay = await startRelay({ store, port: port(values["relay-port"], "--relay-port") });
      console.log(`relay           ${relay.url}`);
      for (const [id, portFlag] of [["alice", "alice-port"], ["bob", "bob-port"]] as const) {
        const d = await startDaemon({
          home: join(home, id),
          clientId: id,
          relayUrl: relay.url,
          relayToken: tokens[id],
          port: port(values[portFlag], `--${portFlag}`),
          mount: demoHooks.mount,
          linkBackoff: { minBackoffMs: 50, maxBackoffMs: 2000 },
        });
        daemons.push(d);
        console.log(`${id.padEnd(16)}${d.url}  (home ${join(home, id)})`);
      }
      const [alice, bob] = daemons as [RunningDaemon, RunningDaemon];
      const aliceApi = new TaskferryClient({ url: alice.url, token: alice.token });
      const bobApi = new TaskferryClient({ url: bob.url, token: bob.token });
      await ensureAgent(aliceApi, REQUESTER, true);
      await ensureAgent(bobApi, WRITER, true);
      // The agents run with agent tokens, as any runtime should: they see only their own agent
      // and cannot approve a gated task. The owner's clients only print the steps.
      const writerApi = await agentClient(bobApi, WRITER, "demo");
      const requesterApi = await agentClient(aliceApi, REQUESTER, "demo");
      console.log("");

      // One line per step, printed when the recipient's daemon has verified and stored it.
      let step = 0;
      for (const [d, api] of [[alice, aliceApi], [bob, bobApi]] as const) {
        d.daemon.events.subscribe((e) => {
          if (e.type !== "inbox") return;
          api.message(String(e.data.id)).then((m) => {
            const p = m.payload;
            const extra = m.type === "artifact_submit"
              ? ` v${p.version}`
              : m.type === "revision_request"
              ? ` "${String(p.feedback)}"`
              : m.type === "task_request"
              ? ` "${String(p.title)}"`
              : "";
            console.log(
              `${String(++step).padStart(2)}. +${String(ms()).padStart(5)} ms  ${
                m.type.padEnd(19)
              }${m.from} → ${m.agent}${extra}  [delivered]`,
            );
          }).catch(() => {});
        });
      }

      agents.push(runWriter({ api: writerApi, handle: WRITER, signal: ac.signal, waitSeconds: 5 }));
      const requester = runRequester({
        api: requesterApi,
        handle: REQUESTER,
        peer: WRITER,
        once: true,
        signal: ac.signal,
        waitSeconds: 5,
      });
      agents.push(requester);

      const completed = await Promise.race([
        waitCompleted(requester, bobApi),
        new Promise<null>((r) => setTimeout(() => r(null), timeoutMs)),
      ]);
      if (!completed) {
        const tasks = await bobApi.tasks().catch(() => []);
        const where = tasks[0] ? `task ${tasks[0].id} is ${tasks[0].state}` : "no task reached bob";
        console.error(
          `\ntaskferry demo: the flow did not complete within ${
            values.timeout ?? "60s"
          } (${where})`,
        );
        await shutdown();
        return 1;
      }
      const detail = await aliceApi.task(completed);
      console.log(
        `\nflow complete in ${ms()} ms: task ${completed} is ${detail.task.state} on both sides, ` +
          `${detail.artifacts.length} artifact versions, ${detail.events.length} events in the audit chain`,
      );
      console.log("");
      for (const [name, d] of [["alice", alice], ["bob", bob]] as const) {
        // A one-time login link (valid for an hour); the token file works too.
        const link = demoHooks.loginUrl
          ? demoHooks.loginUrl(d)
          : dashboardLoginUrl(d.daemon, d.url, DEMO_LINK_TTL_MS);
        console.log(
          `${name} dashboard: ${link}  (or log in with ${join(home, name, "local-token")})`,
        );
      }
      if (values.once) {
        await shutdown();
        return 0;
      }
      console.log("\nPress Ctrl-C to stop.");
      await waitForSignal();
      await shutdown();
      return 0;
    } catch (err) {
      await shutdown();
      throw err;
    }
  },
};

/** Resolves with the task id once the requester finished and bob's side shows it completed. */
async function waitCompleted(
  requester: Promise<string | null>,
  bob: TaskferryClient,
): Promise<string | null> {
  const id = await requester;
  if (!id) return null;
  for (;;) {
    const t = await bob.task(id).catch(() => null);
    if (t?.task.state === "completed") return id;
    await new Promise((r) => setTimeout(r, 20));
  }
}
