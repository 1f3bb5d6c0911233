/**
 * What a relay operator sees (issue 22): the lines `taskferry relay` prints at start, and the
 * `relay list-clients` table with its header, last-seen and revoked columns — as real processes.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { cli, ROOT } from "./cli_run.ts";
import { startTestRelay } from "../relay/sim.ts";
import { startTestDaemon } from "../client/world.ts";

const ISO = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

Deno.test("relay start prints address, public URL, database, signup, clients and the next command", async () => {
  const home = await Deno.makeTempDir({ prefix: "tf-relay-out-" });
  const db = join(home, "relay.db");
  try {
    // Two clients, one revoked, before the relay starts.
    for (const name of ["alice", "bob"]) {
      assertEquals((await cli(home, ["relay", "add-client", name, "--db", db])).code, 0);
    }
    assertEquals((await cli(home, ["relay", "revoke-client", "bob", "--db", db])).code, 0);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--quiet",
        "main.ts",
        "relay",
        "--addr",
        "127.0.0.1:0",
        "--db",
        db,
        "--public-url",
        "https://relay.example.com",
      ],
      cwd: ROOT,
      env: { TASKFERRY_HOME: home, TASKFERRY_LOG_LEVEL: "warn", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let out = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (!out.includes("\nnext: ")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      while (!out.endsWith("\n")) out += (await reader.read()).value ?? "\n";
    } finally {
      child.kill("SIGTERM");
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.status;
    }
    const lines = out.trimEnd().split("\n");
    assert(
      /^taskferry relay listening on http:\/\/127\.0\.0\.1:\d+ \(public URL https:\/\/relay\.example\.com\)$/
        .test(lines[0]!),
      lines[0],
    );
    assertEquals(lines.slice(1), [
      `  database    ${db}`,
      "  signup      closed: clients come from 'taskferry relay add-client NAME' (--open-signup opens it)",
      "  clients     1 active, 1 revoked",
      "next: taskferry relay add-client NAME   (prints the setup link for NAME's daemon)",
    ]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("relay list-clients: a header, last seen (from activity) and revoked columns", async () => {
  const relay = await startTestRelay();
  const scratch = await Deno.makeTempDir({ prefix: "tf-relay-list-" });
  let daemon;
  try {
    const before = Date.now();
    daemon = await startTestDaemon(relay, "alice");
    await daemon.api.createAgent({ handle: "@alice/requester" }); // registers at the relay
    await relay.addClient("bob");
    const db = relay.dbPath;
    assertEquals((await cli(scratch, ["relay", "revoke-client", "bob", "--db", db])).code, 0);
    const [human, json] = await Promise.all([
      cli(scratch, ["relay", "list-clients", "--db", db]),
      cli(scratch, ["relay", "list-clients", "--db", db, "--json"]),
    ]);
    assertEquals(human.code, 0, human.stderr);
    const lines = human.stdout.trimEnd().split("\n");
    assertEquals(lines[0], "CLIENT  CREATED                   LAST SEEN                 REVOKED");
    assert(new RegExp(`^alice   ${ISO}  ${ISO}  -$`).test(lines[1]!), lines[1]);
    assert(
      new RegExp(`^bob     ${ISO}  never                     ${ISO}$`).test(lines[2]!),
      lines[2],
    );
    const rows = JSON.parse(json.stdout).clients;
    assertEquals(rows.map((r: { client_id: string }) => r.client_id), ["alice", "bob"]);
    const seen = Date.parse(rows[0].last_seen);
    assert(seen >= before && seen <= Date.now(), `alice last seen ${rows[0].last_seen}`);
    assertEquals([rows[0].revoked, rows[1].revoked, rows[1].last_seen], [false, true, null]);
  } finally {
    await daemon?.close();
    await relay.close();
    for (const dir of [relay.dir, scratch, daemon?.home]) {
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});
