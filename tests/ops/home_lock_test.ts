/**
 * One daemon per home, and private files, with real `taskferry client` processes: a second start
 * fails at once naming the first; the first keeps its daemon.json; after `kill -9` the next start
 * takes the stale lock over. The home and every file in it are private.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import {
  acquireHomeLock,
  HomeLockedError,
  lockPathFor,
  probeHomeLock,
  removeDaemonFileIfOwner,
} from "../../lib/client/home_lock.ts";
import { modeOf, runTaskferry, spawnTaskferry } from "./proc.ts";

const isUnix = Deno.build.os !== "windows";
const STARTED = /taskferry client 'alice' on (http:\/\/127\.0\.0\.1:\d+)/;

async function tempHome() {
  const dir = await Deno.makeTempDir({ prefix: "tf-lock-" });
  return { dir, home: join(dir, "home") };
}

function env(home: string) {
  return {
    TASKFERRY_HOME: home,
    TASKFERRY_CLIENT_ID: "alice",
    TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
  };
}

Deno.test({
  name: "home lock: a second daemon on one home exits at once naming the first; files are private",
  ignore: !isUnix,
  async fn() {
    const { dir, home } = await tempHome();
    const first = spawnTaskferry(["client"], env(home));
    try {
      const url = STARTED.exec(await first.waitFor(STARTED))![1]!;
      const second = await runTaskferry(["client"], env(home));
      assertEquals(second.code, 1, second.output);
      assert(second.output.includes(`pid ${first.child.pid}`), second.output);
      assert(second.output.includes(url), second.output);
      // The second start must not have taken daemon.json from the first, so the CLI still works.
      const daemonFile = JSON.parse(Deno.readTextFileSync(join(home, "daemon.json")));
      assertEquals(daemonFile, { url, pid: first.child.pid });
      const status = await runTaskferry(["status", "--json"], { TASKFERRY_HOME: home });
      assert(/"client_id": "alice"/.test(status.output), status.output);
      assertEquals(status.code, 0, "no relay configured: nothing to be disconnected from");

      assertEquals(modeOf(home), "700");
      for (const name of Deno.readDirSync(home)) {
        if (name.isFile) assertEquals(modeOf(join(home, name.name)), "600", name.name);
      }
      assert(Deno.statSync(join(home, "client.db-wal")).isFile);
    } finally {
      assertEquals(await first.stop(), 0);
    }
    // A clean stop empties the lock and removes daemon.json (it owned it).
    assertEquals(Deno.readTextFileSync(join(home, "daemon.lock")), "");
    assert(!existsSync(join(home, "daemon.json")));
    const gone = await runTaskferry(["status"], { TASKFERRY_HOME: home });
    assertEquals(gone.code, 1, `status with no daemon: ${gone.output}`);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "home lock: after kill -9 the next daemon takes the stale lock over",
  ignore: !isUnix,
  async fn() {
    const { dir, home } = await tempHome();
    const first = spawnTaskferry(["client"], env(home));
    await first.waitFor(STARTED);
    const stalePid = first.child.pid;
    await first.stop("SIGKILL");
    assert(Deno.readTextFileSync(join(home, "daemon.lock")).includes(`"pid":${stalePid}`));
    const next = spawnTaskferry(["client"], env(home));
    try {
      const out = await next.waitFor(STARTED);
      assert(out.includes("took over the lock"), out);
      assert(out.includes(String(stalePid)), out);
      const lock = JSON.parse(Deno.readTextFileSync(join(home, "daemon.lock")));
      assertEquals(lock.pid, next.child.pid);
      assert(String(lock.addr).startsWith("http://127.0.0.1:"), lock.addr);
    } finally {
      assertEquals(await next.stop(), 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "private files: a home and files an older version left readable are fixed at start",
  ignore: !isUnix,
  async fn() {
    const { dir, home } = await tempHome();
    Deno.mkdirSync(home, { mode: 0o755 });
    Deno.chmodSync(home, 0o755);
    const first = spawnTaskferry(["client"], env(home));
    await first.waitFor(STARTED);
    assertEquals(await first.stop(), 0);
    for (const f of ["client.db", "local-token"]) Deno.chmodSync(join(home, f), 0o644);
    Deno.chmodSync(home, 0o755);
    const again = spawnTaskferry(["client"], env(home));
    try {
      const out = await again.waitFor(STARTED);
      assert(out.includes("made it private"), out);
      assertEquals(modeOf(home), "700");
      assertEquals(modeOf(join(home, "client.db")), "600");
      assertEquals(modeOf(join(home, "local-token")), "600");
    } finally {
      await again.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function existsSync(path: string) {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("home lock: in one process too, a second acquire fails; daemon.json stays unless ours", async () => {
  const { dir, home } = await tempHome();
  Deno.mkdirSync(home);
  try {
    const lock = acquireHomeLock(home, "127.0.0.1:4318");
    assertEquals(lock.takenOver, null);
    lock.record("http://127.0.0.1:4318");
    let err: unknown = null;
    try {
      acquireHomeLock(home, "127.0.0.1:4319");
    } catch (e) {
      err = e;
    }
    assert(err instanceof HomeLockedError, String(err));
    assert(
      err.message.includes(`pid ${Deno.pid}`) && err.message.includes("http://127.0.0.1:4318"),
    );
    assertEquals(probeHomeLock(home).held, true);
    lock.release();
    assertEquals(probeHomeLock(home), { held: false, holder: null });

    const daemonFile = join(home, "daemon.json");
    Deno.writeTextFileSync(daemonFile, JSON.stringify({ url: "http://x", pid: Deno.pid + 1 }));
    removeDaemonFileIfOwner(home);
    assert(existsSync(daemonFile), "another process's daemon.json is left alone");
    Deno.writeTextFileSync(daemonFile, JSON.stringify({ url: "http://x", pid: Deno.pid }));
    removeDaemonFileIfOwner(home);
    assert(!existsSync(daemonFile), "our own is removed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("home lock: the lock guards the database — the home's own, or <db>.lock beside a --db", () => {
  const home = "/tmp/some-home";
  assertEquals(lockPathFor(home, join(home, "client.db")), join(home, "daemon.lock"));
  assertEquals(lockPathFor(home, "/data/alice.db"), "/data/alice.db.lock");
});
