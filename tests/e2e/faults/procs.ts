/**
 * Real processes for the fault-injection tests: `deno run -A main.ts relay|client`, configured
 * only by the environment variables the README documents, each on a fixed port and home so it
 * can be killed with SIGKILL and started again on the same database, port and tokens.
 * @module
 */
import { join } from "node:path";
import { TaskferryClient } from "../../../lib/sdk/mod.ts";
import { until } from "../../wait.ts";

export { until };

const MAIN = new URL("../../../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

/** The environment every child gets: nothing inherited but what Deno needs to run. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return { ...env, ...extra };
}

/** Runs a one-shot CLI command (`taskferry …`) to completion. */
export async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** One long-running child (`taskferry relay` or `taskferry client`) that can be killed and restarted. */
export class Proc {
  private child: Deno.ChildProcess | null = null;
  private output: Promise<unknown> = Promise.resolve();
  /** Number of times it was started. */
  starts = 0;

  /** Byte offset of the log where the current run's output starts. */
  protected logStart = 0;

  constructor(
    readonly name: string,
    private readonly args: string[],
    protected readonly env: Record<string, string>,
    readonly logPath: string,
  ) {}

  /** The OS process id while running. */
  get pid(): number {
    if (!this.child) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the process (output appended to the log file). */
  start() {
    if (this.child) throw new Error(`${this.name} already running`);
    this.starts++;
    const child = new Deno.Command(DENO, {
      args: ["run", "-A", MAIN, ...this.args],
      env: baseEnv(this.env),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const file = Deno.openSync(this.logPath, { create: true, write: true, append: true });
    file.writeSync(new TextEncoder().encode(`--- start #${this.starts} pid ${child.pid}\n`));
    this.logStart = file.statSync().size;
    this.output = Promise.all([
      child.stdout.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) })),
      child.stderr.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) })),
    ]).catch(() => {}).finally(() => file.close());
    this.child = child;
  }

  /** `kill -9`: no shutdown code runs; waits until the process is gone. */
  async kill9() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await child.status;
    await this.output;
  }

  /** SIGTERM (graceful), bounded; SIGKILL after `ms`. */
  async stop(ms = 5000) {
    const child = this.child;
    if (!child) return;
    this.child = null;
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
    clearTimeout(timer);
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone meanwhile
      }
      await child.status;
    }
    await this.output;
  }

  /** The last `lines` lines of the log (for failure messages). */
  async tail(lines = 30): Promise<string> {
    const text = await Deno.readTextFile(this.logPath).catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }
}

/**
 * A relay process with its own home and database. The first start binds port 0 (no race with
 * other tests for a "free" port) and reads the bound port from its start-up line; restarts bind
 * that same port.
 */
export class RelayProc extends Proc {
  port = 0;
  readonly dbPath: string;

  constructor(readonly root: string, extraEnv: Record<string, string> = {}) {
    const home = join(root, "relay");
    Deno.mkdirSync(home, { recursive: true });
    super("relay", ["relay"], {
      TASKFERRY_HOME: home,
      TASKFERRY_RELAY_ADDR: "127.0.0.1:0",
      TASKFERRY_RELAY_DB: join(home, "relay.db"),
      ...extraEnv,
    }, join(root, "relay.log"));
    this.dbPath = join(home, "relay.db");
  }

  get url(): string {
    if (!this.port) throw new Error("the relay has not started yet");
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts (on the port of the first start, if any) and waits for /health. */
  async up(ms = 20_000) {
    if (this.port) this.env.TASKFERRY_RELAY_ADDR = `127.0.0.1:${this.port}`;
    this.start();
    if (!this.port) {
      this.port = await until("the relay's listening line", async () => {
        const text = (await Deno.readTextFile(this.logPath)).slice(this.logStart);
        return Number(/relay listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? 0);
      }, ms);
    }
    await until(`relay /health on ${this.port}`, async () => {
      const res = await fetch(`${this.url}/health`);
      await res.body?.cancel();
      return res.ok;
    }, ms);
  }

  /** `taskferry relay add-client ID --json` against this relay's database. */
  async addClient(id: string): Promise<string> {
    const out = await cli(["relay", "add-client", id, "--json"], this.env);
    if (out.code !== 0) throw new Error(`add-client ${id}: ${out.stderr}`);
    return JSON.parse(out.stdout).token as string;
  }
}

/**
 * A daemon process with its own home. The first start binds port 0; the bound port comes from
 * `daemon.json` (written by this very process: its pid is checked) and restarts bind it again.
 */
export class DaemonProc extends Proc {
  port = 0;
  readonly home: string;
  private cachedApi: TaskferryClient | null = null;

  constructor(
    readonly root: string,
    readonly clientId: string,
    relayUrl: string,
    relayToken: string,
  ) {
    const home = join(root, clientId);
    super("client " + clientId, ["client"], {
      TASKFERRY_HOME: home,
      TASKFERRY_CLIENT_ID: clientId,
      TASKFERRY_RELAY_URL: relayUrl,
      TASKFERRY_RELAY_TOKEN: relayToken,
      TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
    }, join(root, `${clientId}.log`));
    this.home = home;
  }

  get url(): string {
    if (!this.port) throw new Error(`${this.name} has not started yet`);
    return `http://127.0.0.1:${this.port}`;
  }

  get dbPath(): string {
    return join(this.home, "client.db");
  }

  /** The SDK client (the port and the local token file survive restarts). */
  get api(): TaskferryClient {
    if (!this.cachedApi) throw new Error(`${this.name} has not started yet`);
    return this.cachedApi;
  }

  /** Starts and waits until the API answers and (unless told otherwise) the relay link is up. */
  async up(opts: { linked?: boolean; ms?: number } = {}) {
    const ms = opts.ms ?? 30_000;
    if (this.port) this.env.TASKFERRY_CLIENT_ADDR = `127.0.0.1:${this.port}`;
    this.start();
    if (!this.cachedApi) {
      const pid = this.pid;
      this.port = await until(`${this.name}'s daemon.json`, async () => {
        const info = JSON.parse(await Deno.readTextFile(join(this.home, "daemon.json")));
        return info.pid === pid ? Number(new URL(info.url).port) : 0;
      }, ms);
      const token = await until(`${this.name}'s local token`, async () => {
        const t = (await Deno.readTextFile(join(this.home, "local-token"))).trim();
        return t.startsWith("tfl_") && t.length > 20 ? t : null;
      }, ms);
      this.cachedApi = new TaskferryClient({ url: this.url, token });
    }
    await until(`${this.name} API`, async () => {
      const h = await this.api.health();
      return h.client_id === this.clientId && (opts.linked === false || h.relay.connected);
    }, ms);
  }
}
