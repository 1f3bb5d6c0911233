/**
 * The Go TaskFerry README's "Run Locally" and "Run The Demo Agents" sections, run as written:
 * the same environment variables, ids and tokens, the same demo-agent flags, one relay and two
 * clients as separate processes sharing one HOME (as on the reader's machine). Only the ports
 * are picked free, because tests run side by side. Both daemons' APIs must show the task
 * completed; `client_alice` must own `@alice/*` and nothing else.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { eventually } from "../client/world.ts";
import { childEnv, ROOT } from "./go_run.ts";
import { relayTokenFor } from "../../lib/cli/env_aliases.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

interface Proc {
  child: Deno.ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
  /** Resolves when `text` has been printed. */
  printed: (text: string) => Promise<void>;
}

/** Starts `taskferry args…` in `cwd` with exactly `env` (plus PATH/HOME/Deno basics). */
function spawn(cwd: string, env: Record<string, string>, ...args: string[]): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(ROOT, "main.ts"), ...args],
    cwd,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters: (() => void)[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      for (const w of waiters.splice(0)) w();
    }
  };
  pump(child.stdout);
  pump(child.stderr);
  const printed = (needle: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`never printed ${needle}:\n${text}`)),
        20_000,
      );
      const check = () => {
        if (text.includes(needle)) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
      child.status.then(() =>
        setTimeout(() => {
          if (!text.includes(needle)) {
            clearTimeout(timer);
            reject(new Error(`exited before printing ${needle}:\n${text}`));
          }
        }, 50)
      );
    });
  return { child, output: () => text, printed };
}

Deno.test("go readme: Run Locally and the demo agents, with the README's env, ids and flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-go-readme-" });
  const home = join(dir, "home"); // one user's HOME, shared by both clients as in the README
  const procs: Proc[] = [];
  const relayPort = freePort();
  const alicePort = freePort();
  const bobPort = freePort();
  try {
    const relay = spawn(dir, {
      HOME: home,
      TASKFERRY_RELAY_ADDR: `127.0.0.1:${relayPort}`,
      TASKFERRY_RELAY_DB: ".taskferry/relay.db",
      TASKFERRY_RELAY_CLIENT_TOKENS: "client_alice=alice-relay-token,client_bob=bob-relay-token",
    }, "relay");
    procs.push(relay);
    await relay.printed("taskferry relay listening");
    const client = (who: "alice" | "bob", port: number) =>
      spawn(dir, {
        HOME: home,
        TASKFERRY_CLIENT_ADDR: `127.0.0.1:${port}`,
        TASKFERRY_CLIENT_ID: `client_${who}`,
        TASKFERRY_DEVICE_ID: `device_${who}`,
        TASKFERRY_CLIENT_DB: `.taskferry/${who}.db`,
        TASKFERRY_RELAY_HTTP: `http://127.0.0.1:${relayPort}`,
        TASKFERRY_RELAY_WS: `ws://127.0.0.1:${relayPort}/v1/ws`,
        TASKFERRY_RELAY_TOKEN: `${who}-relay-token`,
        TASKFERRY_LOCAL_API_TOKEN: `${who}-local-token`,
      }, "client");
    const alice = client("alice", alicePort);
    procs.push(alice);
    const bob = client("bob", bobPort);
    procs.push(bob);
    await Promise.all([
      alice.printed("taskferry client 'alice'"),
      bob.printed("taskferry client 'bob'"),
    ]);
    for (const p of [alice, bob]) {
      assert(p.output().includes("TASKFERRY_RELAY_HTTP is deprecated; use TASKFERRY_RELAY_URL"));
      assert(p.output().includes("is the Go spelling of"), p.output());
    }
    const aliceApi = new TaskferryClient({
      url: `http://127.0.0.1:${alicePort}`,
      token: "alice-local-token",
    });
    const bobApi = new TaskferryClient({
      url: `http://127.0.0.1:${bobPort}`,
      token: "bob-local-token",
    });
    await eventually(async () =>
      (await aliceApi.health()).relay.connected && (await bobApi.health()).relay.connected
    );

    const writer = spawn(
      dir,
      { HOME: home },
      "writer-agent",
      "--base-url",
      `http://127.0.0.1:${bobPort}`,
      "--api-token",
      "bob-local-token",
    );
    procs.push(writer);
    await writer.printed("running as writer");
    const requester = spawn(
      dir,
      { HOME: home },
      "requester-agent",
      "--base-url",
      `http://127.0.0.1:${alicePort}`,
      "--api-token",
      "alice-local-token",
    );
    procs.push(requester);
    const [rs, ws] = await Promise.all([requester.child.status, writer.child.status]);
    assertEquals(rs.code, 0, requester.output());
    assertEquals(ws.code, 0, writer.output());

    // "Both dashboards should show the task as completed."
    const aliceTask = (await aliceApi.tasks()).find((t) => t.requester === "@alice/requester");
    const bobTask = (await bobApi.tasks()).find((t) => t.worker === "@bob/writer");
    assertEquals(aliceTask?.state, "completed");
    assertEquals(bobTask?.state, "completed");
    assertEquals(aliceTask?.id, bobTask?.id);
    assertEquals(aliceTask?.title, "Write three concise fantasy RPG ad lines");
    assertEquals(bobTask?.artifact_version, 2);

    // client_alice owns @alice/* and nothing else: the relay refuses @bob/… with its token.
    const register = (handle: string) =>
      fetch(`http://127.0.0.1:${relayPort}/v1/agents`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${relayTokenFor("alice", "alice-relay-token")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          handle,
          signing_public_key: "A".repeat(43),
          encryption_public_key: "A".repeat(43),
          proof: "A".repeat(86),
        }),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const taken = await register("@bob/evil");
    assertEquals([taken.status, taken.body.error.code], [403, "handle_not_owned"]);
    const reserved = await register("@client_alice/x");
    assertEquals(reserved.status, 400, "the Go spelling is not a namespace of its own");
    const own = await register("@alice/x");
    assertEquals(own.body.error.code, "bad_proof", "its own namespace gets as far as the proof");
    await aliceApi.createAgent({ handle: "@bob/evil" }).then(
      () => assert(false, "the daemon created an agent outside its namespace"),
      (err) => assertEquals(err.code, "handle_not_owned"),
    );
    // The relay keeps hashes only.
    const db = await Deno.readFile(join(dir, ".taskferry", "relay.db"));
    assert(
      !new TextDecoder().decode(db).includes("alice-relay-token"),
      "token stored in the clear",
    );
  } finally {
    for (const p of procs.reverse()) {
      try {
        p.child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await p.child.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
