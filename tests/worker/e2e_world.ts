/**
 * A world of separate processes for the worker's end-to-end tests: a relay, two daemons (alice
 * the requester, bob the worker's owner), connected agents, and `taskferry worker` processes
 * started and killed like a user would — configured only by documented environment variables.
 */
import { join } from "node:path";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { until as waitUntil } from "../wait.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();
export const ALICE = "@alice/requester";
export const BOB = "@bob/writer";

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "info",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    ...extra,
  };
}

/** A spawned `taskferry …` process whose output goes to a log file. */
export interface Proc {
  child: Deno.ChildProcess;
  log: string;
  stop(signal?: Deno.Signal): Promise<void>;
}

/** Spawns `taskferry args…` with `env`, logging to `log`. */
export function spawnTaskferry(args: string[], env: Record<string, string>, log: string): Proc {
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const file = Deno.openSync(log, { create: true, write: true, append: true });
  const done = Promise.all([
    child.stdout.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) })),
    child.stderr.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) })),
  ]).catch(() => {}).finally(() => file.close());
  let stopping: Promise<void> | undefined;
  return {
    child,
    log,
    stop: (signal = "SIGTERM") =>
      stopping ??= (async () => {
        try {
          child.kill(signal);
        } catch {
          // already exited
        }
        await child.status;
        await done;
      })(),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `fn` until it returns something truthy (state behind another process's API). */
export function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  ms = 30_000,
): Promise<T> {
  return waitUntil(what, fn, ms, 50);
}

/** The running world. */
export interface ProcessWorld {
  root: string;
  homes: { alice: string; bob: string };
  alice: TaskferryClient;
  bob: TaskferryClient;
  /** Collects the raw text of a daemon's event stream (`GET /v1/events`) from now on. */
  events(who: "alice" | "bob"): { text(): string; close(): void };
  /** Starts `taskferry worker` for bob's agent with `args` (its workdir is `workdir`). */
  worker(args: string[], workdir: string, name?: string): Proc;
  [Symbol.asyncDispose](): Promise<void>;
}

async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Starts the relay and both daemons as processes and connects alice's agent to bob's. */
export async function startProcessWorld(): Promise<ProcessWorld> {
  const root = await Deno.makeTempDir({ prefix: "tf-worker-e2e-" });
  const procs: Proc[] = [];
  const close = async () => {
    for (const p of procs.reverse()) await p.stop();
    if (!Deno.env.get("TASKFERRY_KEEP_TEST_DIRS")) await Deno.remove(root, { recursive: true });
  };
  try {
    const relayPort = freePort();
    const relayUrl = `http://127.0.0.1:${relayPort}`;
    const relayEnv = {
      TASKFERRY_HOME: join(root, "relay"),
      TASKFERRY_RELAY_ADDR: `127.0.0.1:${relayPort}`,
      TASKFERRY_RELAY_DB: join(root, "relay", "relay.db"),
    };
    procs.push(spawnTaskferry(["relay"], relayEnv, join(root, "relay.log")));
    await until("relay health", async () => (await fetch(`${relayUrl}/health`)).ok);
    const homes = { alice: join(root, "alice"), bob: join(root, "bob") };
    const apis: Record<string, TaskferryClient> = {};
    for (const id of ["alice", "bob"] as const) {
      const creds = JSON.parse(await cli(["relay", "add-client", id, "--json"], relayEnv));
      procs.push(spawnTaskferry(["client"], {
        TASKFERRY_HOME: homes[id],
        TASKFERRY_CLIENT_ID: creds.client_id,
        TASKFERRY_RELAY_URL: relayUrl,
        TASKFERRY_RELAY_TOKEN: creds.token,
        TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
      }, join(root, `${id}.log`)));
      apis[id] = await until(`${id}'s daemon`, async () => {
        const { url } = JSON.parse(await Deno.readTextFile(join(homes[id], "daemon.json")));
        const token = (await Deno.readTextFile(join(homes[id], "local-token"))).trim();
        const api = new TaskferryClient({ url, token });
        return (await api.health()).relay.connected ? api : null;
      });
    }
    const alice = apis.alice!, bob = apis.bob!;
    await alice.createAgent({ handle: ALICE });
    await bob.createAgent({ handle: BOB, public: true });
    await until("bob's agent registered", async () => (await bob.agents())[0]?.registered);
    await alice.connect({ from: ALICE, to: BOB });
    await bob.waitForInbox(BOB, (m) => m.type === "connection_request");
    await bob.acceptConnection(ALICE, { agent: BOB });
    await alice.waitForInbox(ALICE, (m) => m.type === "connection_accept");
    return {
      root,
      homes,
      alice,
      bob,
      events(who) {
        const api = apis[who]!;
        const token = Deno.readTextFileSync(join(homes[who], "local-token")).trim();
        const ac = new AbortController();
        let text = "";
        fetch(`${api.url}/v1/events`, {
          headers: { authorization: `Bearer ${token}` },
          signal: ac.signal,
        }).then(async (res) => {
          for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) text += chunk;
        }).catch(() => {});
        return { text: () => text, close: () => ac.abort() };
      },
      worker(args, workdir, name = "worker") {
        const p = spawnTaskferry(["worker", "--agent", BOB, "--workdir", workdir, ...args], {
          TASKFERRY_HOME: homes.bob,
        }, join(root, `${name}.log`));
        procs.push(p);
        return p;
      },
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
