/**
 * Protected keys at rest (issue 19.6) with real `taskferry client` processes: --protect-keys
 * with a passphrase file wraps an existing key, after which neither client.db nor its WAL holds
 * that key or a new agent's key in clear; a wrong passphrase exits 1 at start; no passphrase and
 * no terminal exits 1 saying what to set; a passphrase typed at a real terminal (a pty from
 * `script`) unlocks; and the Linux keychain adapter runs a fake `secret-tool` from PATH that
 * records its argv and stdin: the secret goes on stdin only.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals } from "../assert.ts";
import { KeyWrapper } from "../../lib/client/secrets/wrap.ts";
import { childEnv, runTaskferry, spawnTaskferry } from "./proc.ts";

const STARTED = /taskferry client 'alice' on (http:\/\/\S+)/;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Creates `handle` through the running daemon's API. */
async function createAgent(home: string, url: string, handle: string) {
  const token = Deno.readTextFileSync(join(home, "local-token")).trim();
  const res = await fetch(`${url}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ handle }),
  });
  assertEquals(res.status, 201, await res.text());
}

/** The stored private-key columns of every agent, as they are on disk. */
function storedRows(dbPath: string): Record<string, string>[] {
  const db = new DatabaseSync(dbPath);
  try {
    return db.prepare("SELECT handle, signing_private_key, encryption_private_key FROM agents")
      .all() as Record<string, string>[];
  } finally {
    db.close();
  }
}

/** Which of `needles` appear anywhere in client.db or its WAL (raw bytes). */
function leaked(home: string, needles: string[]): string[] {
  let bytes = "";
  for (const f of ["client.db", "client.db-wal"]) {
    try {
      bytes += new TextDecoder("latin1").decode(Deno.readFileSync(join(home, f)));
    } catch {
      // no WAL right now
    }
  }
  return needles.filter((n) => bytes.includes(n));
}

/** The clear keys of every agent, unwrapped with `secret` as the daemon would. */
function clearKeys(home: string, secret: string): string[] {
  const db = new DatabaseSync(join(home, "client.db"));
  const rec = JSON.parse(
    (db.prepare("SELECT value FROM settings WHERE key = 'key_protection'").get() as {
      value: string;
    }).value,
  );
  db.close();
  const w = new KeyWrapper(secret, rec);
  return storedRows(join(home, "client.db")).flatMap((r) =>
    (["signing_private_key", "encryption_private_key"] as const).map((c) =>
      w.unwrap(r[c]!, `taskferry agent key\n${r.handle}\n${c}`)
    )
  );
}

Deno.test("protected keys: passphrase file; nothing in clear after; wrong or missing passphrase exits 1", async () => {
  const home = await Deno.makeTempDir({ prefix: "tf-ops2-kp-" });
  const env = {
    TASKFERRY_HOME: home,
    TASKFERRY_CLIENT_ID: "alice",
    TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
  };
  const passFile = join(home, "..", `${home.split("/").pop()}-pass`);
  Deno.writeTextFileSync(passFile, "correct horse battery\n", { mode: 0o600 });
  try {
    const first = spawnTaskferry(["client"], env);
    await createAgent(home, STARTED.exec(await first.waitFor(STARTED))![1]!, "@alice/x");
    assertEquals(await first.stop(), 0);
    const row = storedRows(join(home, "client.db"))[0]!;
    const xKeys = [row.signing_private_key!, row.encryption_private_key!];
    assertEquals(leaked(home, xKeys).length, 2, "the unprotected key is on disk in clear");

    const protectedRun = spawnTaskferry(["client", "--protect-keys"], {
      ...env,
      TASKFERRY_PASSPHRASE_FILE: passFile,
    });
    const out = await protectedRun.waitFor(STARTED);
    assert(out.includes("agent keys protected (1 wrapped; secret: passphrase file"), out);
    assertEquals(leaked(home, xKeys), [], "after protecting, while running");
    await createAgent(home, STARTED.exec(out)![1]!, "@alice/y");
    assertEquals(await protectedRun.stop(), 0);

    const all = clearKeys(home, "correct horse battery");
    assertEquals(all.slice(0, 2), xKeys, "the wrapped key is the same key");
    assertEquals(all.length, 4);
    assertEquals(leaked(home, all), [], "neither agent's key, in the database or the WAL");

    Deno.writeTextFileSync(passFile, "wrong horse\n");
    const wrong = await runTaskferry(["client"], { ...env, TASKFERRY_PASSPHRASE_FILE: passFile });
    assertEquals(wrong.code, 1, wrong.output);
    assert(wrong.output.includes(`wrong passphrase for ${join(home, "client.db")}`), wrong.output);

    const none = await runTaskferry(["client"], env);
    assertEquals(none.code, 1, none.output);
    assert(none.output.includes("are protected: set TASKFERRY_PASSPHRASE_FILE"), none.output);

    // At a terminal: asked, without echo; the daemon starts and its keys open.
    const viaTty = new Deno.Command("script", {
      args: ["-qec", `'${Deno.execPath()}' run -A --quiet '${MAIN}' client`, "/dev/null"],
      env: childEnv(env),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = viaTty.stdin.getWriter();
    let text = "";
    const reader = viaTty.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let url = "";
    let typed = false;
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`script ended:\n${text}`);
      text += value;
      if (!typed && text.includes("Passphrase for the agent keys in")) {
        typed = true;
        await w.write(new TextEncoder().encode("correct horse battery\r"));
      }
      url = STARTED.exec(text)?.[1] ?? "";
    }
    assert(!text.includes("correct horse"), "no echo");
    const token = Deno.readTextFileSync(join(home, "local-token")).trim();
    const agents = await fetch(`${url}/v1/agents`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(agents.status, 200);
    assertEquals((await agents.json()).agents.length, 2);
    // `script` ends its session (and the daemon in it) on SIGTERM.
    viaTty.kill("SIGTERM");
    await w.close().catch(() => {});
    await reader.cancel();
    await viaTty.stderr.cancel();
    await viaTty.status;
  } finally {
    await Deno.remove(passFile).catch(() => {});
    await Deno.remove(home, { recursive: true });
  }
});

const FAKE_SECRET_TOOL = `#!/bin/sh
dir="$(dirname "$0")"
for a in "$@"; do printf '%s\\n' "$a" >> "$dir/argv.log"; done
echo -- >> "$dir/argv.log"
case "$1" in
  store) cat > "$dir/secret" ;;
  lookup) [ -f "$dir/secret" ] || exit 1; cat "$dir/secret" ;;
esac
`;

Deno.test("protected keys: --key-source keychain on Linux keeps the secret in secret-tool, off argv", async () => {
  const home = await Deno.makeTempDir({ prefix: "tf-ops2-kc-" });
  const bin = await Deno.makeTempDir({ prefix: "tf-ops2-bin-" });
  Deno.writeTextFileSync(join(bin, "secret-tool"), FAKE_SECRET_TOOL, { mode: 0o755 });
  const env = {
    TASKFERRY_HOME: home,
    TASKFERRY_CLIENT_ID: "alice",
    TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
  };
  try {
    const on = spawnTaskferry(["client", "--protect-keys", "--key-source", "keychain"], env);
    const out = await on.waitFor(STARTED);
    assert(out.includes("secret: secret-tool (libsecret keyring)"), out);
    await createAgent(home, STARTED.exec(out)![1]!, "@alice/x");
    assertEquals(await on.stop(), 0);

    const secret = Deno.readTextFileSync(join(bin, "secret"));
    assert(/^[A-Za-z0-9_-]{43}$/.test(secret), "a generated 256-bit secret, on stdin");
    const argv = Deno.readTextFileSync(join(bin, "argv.log"));
    assert(!argv.includes(secret), "never on argv");
    const calls = argv.split("--\n").filter(Boolean).map((c) => c.trim().split("\n"));
    assertEquals(calls[0]!.slice(0, 1), ["store"]);
    assert(calls[0]!.includes("service") && calls[0]!.includes("taskferry"));
    assertEquals(calls[1]![0], "lookup");
    assertEquals(leaked(home, clearKeys(home, secret)), []);

    // A later start unlocks from the keychain without asking; an emptied keychain is refused.
    const again = spawnTaskferry(["client"], env);
    await again.waitFor(STARTED);
    assertEquals(await again.stop(), 0);
    Deno.removeSync(join(bin, "secret"));
    const gone = await runTaskferry(["client"], env);
    assertEquals(gone.code, 1, gone.output);
    assert(gone.output.includes("which has no entry"), gone.output);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(bin, { recursive: true });
  }
});
