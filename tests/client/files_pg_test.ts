/**
 * Files on PostgreSQL (issue 16): two relay nodes as real processes (`taskferry relay --db
 * postgres://…`) on one database. Alice's daemon uploads through node A, bob's daemon downloads
 * through node B: the chunk table lets any node serve any blob. Skipped when PostgreSQL is not
 * installed (required in CI).
 */
import { assertEquals } from "../assert.ts";
import { postgresBin, startPostgres } from "../relay/pg.ts";
import { eventually, startTestDaemon, type TestDaemon } from "./world.ts";
import { fetchFile, markedFile, MB, sha256Of } from "./files_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function env(): Record<string, string> {
  return {
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: env(),
    clearEnv: true,
    stdin: "null",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function startNode(db: string) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "relay", "--db", db, "--addr", `127.0.0.1:${port}`],
    env: env(),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    () => fetch(`${url}/health`).then((r) => r.body?.cancel().then(() => r.ok), () => false),
    60_000, // a cold process start on a busy 2-core machine
  );
  return { child, url };
}

Deno.test({
  name: "files on PostgreSQL: uploaded through node A, downloaded through node B",
  ignore: !postgresBin() && Deno.env.get("CI") !== "true",
  fn: async () => {
    const pg = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "tf-files-pg-" });
    const nodes: Deno.ChildProcess[] = [];
    const daemons: TestDaemon[] = [];
    try {
      const db = await pg.createDatabase("files");
      const a = await startNode(db);
      nodes.push(a.child);
      const b = await startNode(db);
      nodes.push(b.child);
      const aliceTok = (await run(["relay", "add-client", "alice", "--db", db, "--json"])).token;
      const bobTok = (await run(["relay", "add-client", "bob", "--db", db, "--json"])).token;
      const alice = await startTestDaemon({ url: a.url }, "alice", {
        relayToken: aliceTok,
        filesRoot: dir,
      });
      daemons.push(alice);
      const bob = await startTestDaemon({ url: b.url }, "bob", { relayToken: bobTok });
      daemons.push(bob);
      await alice.api.createAgent({ handle: "@alice/requester" });
      await bob.api.createAgent({ handle: "@bob/writer", public: true });
      await eventually(async () =>
        (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
      );
      await alice.api.connect({ from: "@alice/requester", to: "@bob/writer" });
      await bob.api.waitForInbox("@bob/writer", (m) => m.type === "connection_request");
      await bob.api.acceptConnection("@alice/requester");
      await alice.api.waitForInbox("@alice/requester", (m) => m.type === "connection_accept");

      const path = await markedFile(dir, "pg.bin", 5 * MB + 123);
      const want = await sha256Of((await Deno.open(path)).readable);
      const sent = await alice.api.send({
        from: "@alice/requester",
        to: "@bob/writer",
        files: [{ path }],
      });
      const file = await eventually(async () => {
        const m = await bob.api.message(sent.message.id).catch(() => null);
        return m?.files?.[0]?.state === "ready" ? m.files[0] : null;
      }, 30_000);
      assertEquals(await sha256Of((await fetchFile(bob, file.id)).body!), want);
    } finally {
      for (const d of daemons) {
        await d.close();
        await Deno.remove(d.home, { recursive: true }).catch(() => {});
      }
      for (const n of nodes) {
        n.kill("SIGTERM");
        await n.status;
      }
      await pg.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
