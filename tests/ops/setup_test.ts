/**
 * Secrets out of argv and out of logs (issue 19 items 4–5), with real processes: `client --setup -`
 * reads the link from stdin, `--setup @FILE` from a file, a literal link is warned about; no log
 * line carries the token in either format; `status` exits 3 while the relay is down and 0 once
 * it is connected.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { logger, redactText, setLogFormat } from "../../lib/log.ts";
import { runTaskferry, spawnTaskferry } from "./proc.ts";

const STARTED = /taskferry client 'alice' on http/;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("setup: --setup - (stdin) and --setup @FILE save the link; status exits 3, then 0", async () => {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const dir = await Deno.makeTempDir({ prefix: "tf-setup-" });
  try {
    const token = await relay.addClient("alice");
    const link = `taskferry://relay/setup#relay=${encodeURIComponent(relay.url)}` +
      `&client_id=alice&token=${token}`;
    const env = (home: string) => ({
      TASKFERRY_HOME: home,
      TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
      TASKFERRY_LOG_LEVEL: "info",
    });

    // stdin
    const a = join(dir, "a");
    const viaStdin = spawnTaskferry(["client", "--setup", "-"], env(a), link + "\n");
    try {
      await viaStdin.waitFor(STARTED);
      const saved = JSON.parse(Deno.readTextFileSync(join(a, "relay-credentials.json")));
      assertEquals(saved, { relay_url: relay.url, client_id: "alice", relay_token: token });
      // connected: status 0
      let status = { code: -1, output: "" };
      for (let i = 0; i < 100 && status.code !== 0; i++) {
        status = await runTaskferry(["status"], { TASKFERRY_HOME: a });
      }
      assertEquals(status.code, 0, status.output);
      assert(status.output.includes("connected"), status.output);
    } finally {
      await viaStdin.stop();
    }
    assert(!viaStdin.output().includes(token.slice(-20)), viaStdin.output());

    // @FILE, pointing at a relay that is down: the daemon runs, status says 3
    const b = join(dir, "b");
    const file = join(dir, "link.txt");
    const deadRelay = `http://127.0.0.1:${freePort()}`;
    Deno.writeTextFileSync(
      file,
      `taskferry://relay/setup#relay=${
        encodeURIComponent(deadRelay)
      }&client_id=alice&token=${token}\n`,
    );
    const viaFile = spawnTaskferry(["client", "--setup", `@${file}`], env(b));
    try {
      await viaFile.waitFor(STARTED);
      const status = await runTaskferry(["status"], { TASKFERRY_HOME: b });
      assertEquals(status.code, 3, status.output);
      assert(status.output.includes("disconnected"), status.output);
    } finally {
      await viaFile.stop();
    }
    assert(!viaFile.output().includes(token.slice(-20)), viaFile.output());
    assert(!viaFile.output().includes("visible to other users"), "no warning for @FILE");

    // A literal link still works but is warned about, without echoing the token.
    const c = join(dir, "c");
    const literal = spawnTaskferry(["client", "--setup", link, "--log-format", "text"], env(c));
    try {
      const out = await literal.waitFor(/visible to other users/);
      assert(!out.includes(token.slice(-20)), out);
      assert(
        /Z WARN {2}client the setup link on the command line/.test(out),
        `text format: ${out}`,
      );
    } finally {
      await literal.stop();
    }

    const badFormat = await runTaskferry(["client", "--log-format", "xml"], env(join(dir, "f")));
    assertEquals(badFormat.code, 2, badFormat.output);
    assert(badFormat.output.includes("use one of text, json"), badFormat.output);

    // Bad forms: exit 2 with a message, nothing saved.
    const empty = await runTaskferry(["client", "--setup", "-"], env(join(dir, "d")), "");
    assertEquals(empty.code, 2, empty.output);
    assert(empty.output.includes("no setup link on stdin"), empty.output);
    const missing = await runTaskferry(
      ["client", "--setup", "@/nonexistent/x"],
      env(join(dir, "e")),
    );
    assertEquals(missing.code, 2, missing.output);
  } finally {
    await relay.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log: tokens are redacted by field name and by value, in json and text format", () => {
  const token = "tfr.alice." + "A".repeat(43);
  const local = "tfl_" + "b".repeat(43);
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => void lines.push(line);
  try {
    for (const format of ["json", "text"] as const) {
      setLogFormat(format);
      const log = logger("test");
      log.warn(`refused ${token}`, {
        relay_token: "plain-secret",
        url: `taskferry://x/setup#relay=http://r&client_id=alice&token=${token}`,
        err: new Error(`bad bearer ${local}`),
        note: "two words",
      });
    }
  } finally {
    console.error = original;
    setLogFormat("json");
  }
  assertEquals(lines.length, 2);
  for (const line of lines) {
    for (const secret of ["AAAAAAAA", "bbbbbbbb", "plain-secret"]) {
      assert(!line.includes(secret), `leaked ${secret}: ${line}`);
    }
  }
  const json = JSON.parse(lines[0]!);
  assertEquals(json.relay_token, "[redacted]");
  assert(json.url.endsWith("&token=[redacted]"), json.url);
  assert(/^\S+Z WARN {2}test refused \[redacted\] /.test(lines[1]!), lines[1]);
  assert(lines[1]!.includes('note="two words"'), lines[1]);
  assertEquals(redactText("no secrets here"), "no secrets here");
});
