/**
 * Relay nodes as child processes (`taskferry relay --db …`), for the multi-node tests: one
 * minimal environment, a free port, start-up awaited on `/health`, and `relay add-client`
 * against the same database.
 * @module
 */
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

/** The child's whole environment: what Deno needs, and nothing of the test runner's. */
export function childEnv(): Record<string, string> {
  return {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
  };
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts a relay node on `db` and waits until `/health` answers (60 s at most: a cold start on
 * a busy 2-core machine). Its stderr goes to `logPath` when given.
 */
export async function startRelayNode(
  db: string,
  opts: { port?: number; logPath?: string } = {},
): Promise<{ child: Deno.ChildProcess; url: string }> {
  const port = opts.port ?? freePort();
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, "relay", "--db", db, "--addr", `127.0.0.1:${port}`],
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: opts.logPath ? "piped" : "null",
  }).spawn();
  if (opts.logPath) {
    // Keep the node's log for a failure message; never let a full pipe block it.
    child.stderr.pipeTo((await Deno.open(opts.logPath, { create: true, append: true })).writable)
      .catch(() => {});
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await fetch(`${url}/health`).then((r) => r.body?.cancel().then(() => r.ok), () => false)) {
      return { child, url };
    }
    await new Promise((r) => setTimeout(r, 50)); // a process starting: nothing to await but its port
  }
  child.kill("SIGKILL");
  throw new Error(
    `relay node on ${port} did not start${opts.logPath ? `; see ${opts.logPath}` : ""}`,
  );
}

/** `taskferry relay add-client ID --db DB --json`: the new client's token. */
export async function addRelayClient(db: string, id: string): Promise<string> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, "relay", "add-client", id, "--db", db, "--json"],
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)).token;
}
