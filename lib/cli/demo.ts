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
import { runDemoWorker } from "./demo_worker.ts";

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
delivery state and the elapsed time (mm:ss after the first minute), then the two dashboards'
login links, and stays up until Ctrl-C. On exit (Ctrl-C too) it removes its temporary data
directory, unless --home was given.

Options:
  --home DIR          keep the data here (default: a temp dir, removed on exit)
  --once              exit when the flow completes: 0 on success, 1 with the reason otherwise
                      (no dashboard links: the dashboards stop with it)
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
    console.log(
      `TaskFerry demo — data in ${home}${values.home ? "" : " (removed on exit)"}`,
    );
    // Ctrl-C at any moment, also mid-flow, stops everything and cleans up (see `finally`).
    let interrupted = false;
    const signalled = waitForSignal().then(() => {
      interrupted = true;
      console.log("\nCtrl-C: stopping the demo…");
      return null;
    });

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
    let stopped = false;
    const shutdown = async () => {
      if (stopped) return;
      stopped = true;
      ac.abort();
      await Promise.allSettled(agents);
      for (const d of daemons) await d.close().catch(() => {});
      if (relay) await relay.close().catch(() => {}); // closes the store too
      else await store.close().catch(() => {});
      if (values.home) return console.log(`data kept in ${home}`);
      await Deno.remove(home, { recursive: true })
        .then(() => console.log(`removed ${home}`))
        .catch((err) => console.error(`taskferry demo: could not remove ${home}: ${err.message}`));
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
      if (!interrupted) console.log("");

      // One line per step, printed when the recipient's daemon has verified and stored it.
      let step = 0;
      for (const [d, api] of [[alice, aliceApi], [bob, bobApi]] as const) {
        d.daemon.events.subscribe((e) => {
          if (e.type !== "inbox" || interrupted) return;
          api.message(String(e.data.id)).then((m) => {
            if (interrupted) return; // after Ctrl-C only the goodbye lines are printed
            const p = m.payload;
            const extra = m.type === "artifact_submit"
              ? ` v${p.version}`
              : m.type === "revision_request"
              ? ` "${String(p.feedback)}"`
              : m.type === "task_request"
              ? ` "${String(p.title)}"`
              : "";
            console.log(
              `${String(++step).padStart(2)}. +${elapsed(ms())}  ${
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

      let timer: ReturnType<typeof setTimeout> | undefined;
      const completed = await Promise.race([
        waitCompleted(requester, bobApi),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs))),
        signalled,
      ]);
      clearTimeout(timer);
      if (interrupted) {
        await shutdown();
        return 130; // the shell's code for "stopped by SIGINT"
      }
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
      // bob's worker runs a command for a second task; alice sees its progress live.
      const worker = await runDemoWorker({
        home,
        alice: aliceApi,
        bob: bobApi,
        signal: ac.signal,
        pauseMs: values.once ? 40 : 700,
      });
      agents.push(worker.running);
      console.log(worker.line);
      if (values.once) {
        await shutdown();
        return 0;
      }
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
      // The README's loopback recipe starts from these two lines (tests/cli/readme_snippet_test.ts).
      console.log("\nFor the README's loopback API recipe (curl), paste into another shell:");
      for (const [name, d] of [["ALICE", alice], ["BOB", bob]] as const) {
        const token = join(home, name.toLowerCase(), "local-token");
        console.log(
          `  export ${name}_API=${d.url} ${name}_TOKEN_FILE='${token.replaceAll("'", "'\\''")}'`,
        );
      }
      console.log("\nPress Ctrl-C to stop.");
      await signalled;
      await shutdown();
      return 0;
    } catch (err) {
      await shutdown();
      throw err;
    }
  },
};

/** Elapsed time for a step line: milliseconds in the first minute, then mm:ss (9 wide). */
export function elapsed(ms: number): string {
  if (ms < 60_000) return `${String(ms).padStart(5)} ms`;
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60)).padStart(2, "0");
  return `${mm}:${String(s % 60).padStart(2, "0")}`.padStart(8);
}

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
