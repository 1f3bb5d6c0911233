/**
 * Five separate processes — relay, two daemons, two demo agents — configured only by the
 * environment variables the README documents. The flow must complete and both daemons' APIs
 * must report the task completed with two artifact versions.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { until } from "../wait.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    ...extra,
  };
}

function spawn(args: string[], env: Record<string, string>, logPath: string) {
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", MAIN, ...args],
    env: baseEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Keep the output for the failure message; never block the child on a full pipe.
  const file = Deno.openSync(logPath, { create: true, write: true, append: true });
  const done = Promise.all([
    child.stdout.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) })),
    child.stderr.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) })),
  ]).finally(() => file.close());
  return { child, done };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function cli(args: string[], env: Record<string, string>) {
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

Deno.test("e2e: relay, two daemons and two agents as separate processes", async () => {
  const root = await Deno.makeTempDir({ prefix: "tf-e2e-" });
  const relayPort = freePort();
  const relayUrl = `http://127.0.0.1:${relayPort}`;
  const relayEnv = {
    TASKFERRY_HOME: join(root, "relay"),
    TASKFERRY_RELAY_ADDR: `127.0.0.1:${relayPort}`,
    TASKFERRY_RELAY_DB: join(root, "relay", "relay.db"),
  };
  const procs: ReturnType<typeof spawn>[] = [];
  try {
    procs.push(spawn(["relay"], relayEnv, join(root, "relay.log")));
    await until("relay health", async () => (await fetch(`${relayUrl}/health`)).ok);

    const creds: Record<string, { client_id: string; token: string }> = {};
    for (const id of ["alice", "bob"]) {
      const out = await cli(["relay", "add-client", id, "--json"], relayEnv);
      assertEquals(out.code, 0, out.stderr);
      creds[id] = JSON.parse(out.stdout);
    }
    const homes = { alice: join(root, "alice"), bob: join(root, "bob") };
    for (const id of ["alice", "bob"] as const) {
      procs.push(spawn(["client"], {
        TASKFERRY_HOME: homes[id],
        TASKFERRY_CLIENT_ID: creds[id]!.client_id,
        TASKFERRY_RELAY_URL: relayUrl,
        TASKFERRY_RELAY_TOKEN: creds[id]!.token,
        TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
      }, join(root, `${id}.log`)));
    }
    const apis: Record<string, TaskferryClient> = {};
    for (const id of ["alice", "bob"] as const) {
      apis[id] = await until(`${id}'s daemon`, async () => {
        const { url } = JSON.parse(await Deno.readTextFile(join(homes[id], "daemon.json")));
        const token = (await Deno.readTextFile(join(homes[id], "local-token"))).trim();
        const api = new TaskferryClient({ url, token });
        return (await api.health()).relay.connected ? api : null;
      });
    }

    procs.push(spawn(["agent", "writer", "--create"], {
      TASKFERRY_HOME: homes.bob,
      TASKFERRY_AGENT: "@bob/writer",
    }, join(root, "writer.log")));
    await until(
      "the writer's agent",
      async () => (await apis.bob!.agents()).some((a) => a.registered),
    );
    const requester = spawn(["agent", "requester", "--create", "--once"], {
      TASKFERRY_HOME: homes.alice,
      TASKFERRY_AGENT: "@alice/requester",
      TASKFERRY_PEER: "@bob/writer",
    }, join(root, "requester.log"));
    const status = await Promise.race([
      requester.child.status,
      new Promise<null>((r) => setTimeout(() => r(null), 60_000)),
    ]);
    await requester.done.catch(() => {});
    const log = await Deno.readTextFile(join(root, "requester.log")).catch(() => "");
    assert(status !== null, `the requester did not finish:\n${log}`);
    assertEquals(status.code, 0, `requester failed:\n${log}`);

    for (const id of ["alice", "bob"] as const) {
      const tasks = await until(`${id} sees the task completed`, async () => {
        const list = await apis[id]!.tasks();
        return list[0]?.state === "completed" ? list : null;
      });
      const detail = await apis[id]!.task(tasks[0]!.id);
      assertEquals(detail.task.state, "completed");
      assertEquals(detail.artifacts.map((a) => a.version), [1, 2]);
    }
  } finally {
    for (const p of procs) {
      try {
        p.child.kill("SIGTERM");
      } catch {
        // already exited
      }
    }
    for (const p of procs) {
      await p.child.status;
      await p.done.catch(() => {});
    }
    await Deno.remove(root, { recursive: true });
  }
});
