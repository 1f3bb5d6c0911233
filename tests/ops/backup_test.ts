/**
 * Online backups (issue 19 item 8): `taskferry backup` and `taskferry relay backup` run as real
 * processes while the daemon and relay keep working; restoring each backup into a fresh
 * directory brings back a daemon and a relay that carry on (same agent keys, same connection,
 * same client tokens) without any other step.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../client/world.ts";
import { modeOf, runTaskferry } from "./proc.ts";

Deno.test("backup: daemon and relay backups taken while running restore and carry on", async () => {
  const scratch = await Deno.makeTempDir({ prefix: "tf-backup-" });
  let relay = await startTestRelay({ retryBaseMs: 200 });
  const daemons: TestDaemon[] = [];
  try {
    const alice = await startTestDaemon(relay, "alice");
    const bob = await startTestDaemon(relay, "bob");
    daemons.push(alice, bob);
    const agentA = await alice.api.createAgent({ handle: "@alice/a" });
    await bob.api.createAgent({ handle: "@bob/b", public: true });
    await eventually(async () =>
      (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
    );
    await alice.api.connect({ from: "@alice/a", to: "@bob/b" });
    await bob.api.waitForInbox("@bob/b", (m) => m.type === "connection_request");
    await bob.api.acceptConnection("@alice/a");
    await alice.api.waitForInbox("@alice/a", (m) => m.type === "connection_accept");
    const before = await alice.api.send({ from: "@alice/a", to: "@bob/b", text: "before" });
    await bob.api.waitForInbox("@bob/b", (m) => m.id === before.message.id);

    // Both backups while everything runs.
    const clientCopy = join(scratch, "client-backup.db");
    const relayCopy = join(scratch, "relay-backup.db");
    const c = await runTaskferry(["backup", clientCopy, "--json"], { TASKFERRY_HOME: alice.home });
    assertEquals(c.code, 0, c.output);
    assert(JSON.parse(c.output).bytes > 0, c.output);
    assertEquals(modeOf(clientCopy), "600");
    const r = await runTaskferry(["relay", "backup", relayCopy, "--db", relay.dbPath], {
      TASKFERRY_HOME: scratch,
    });
    assertEquals(r.code, 0, r.output);
    const again = await runTaskferry(["backup", clientCopy], { TASKFERRY_HOME: alice.home });
    assertEquals(again.code, 1, "a backup never overwrites");
    assert(again.output.includes("already exists"), again.output);

    // Restore the relay on the same port and alice into a new home; bob never stops.
    await relay.close();
    const relayDir = join(scratch, "relay-restored");
    Deno.mkdirSync(relayDir);
    Deno.copyFileSync(relayCopy, join(relayDir, "relay.db"));
    relay = await startTestRelay({ retryBaseMs: 200 }, relayDir, relay.port);
    await alice.close();
    const aliceHome = join(scratch, "alice-restored");
    Deno.mkdirSync(aliceHome);
    Deno.copyFileSync(clientCopy, join(aliceHome, "client.db"));
    const alice2 = await startTestDaemon(relay, "alice", {
      home: aliceHome,
      relayToken: alice.relayToken,
    });
    daemons.push(alice2);
    const agents = await alice2.api.agents();
    assertEquals(agents.find((x) => x.handle === "@alice/a")?.fingerprint, agentA.fingerprint);
    await eventually(async () =>
      (await alice2.api.health()).relay.connected && (await bob.api.health()).relay.connected
    );
    const after = await alice2.api.send({ from: "@alice/a", to: "@bob/b", text: "after restore" });
    const got = await bob.api.waitForInbox("@bob/b", (m) => m.id === after.message.id);
    assertEquals(got.item.payload.text, "after restore");
  } finally {
    for (const d of daemons) await d.close();
    await relay.close();
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("backup: a missing database and a PostgreSQL relay are refused with a hint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-backup-" });
  try {
    const none = await runTaskferry(["backup", join(dir, "x.db")], { TASKFERRY_HOME: dir });
    assertEquals(none.code, 1, none.output);
    assert(none.output.includes("no database at"), none.output);
    const pg = await runTaskferry(
      ["relay", "backup", join(dir, "x.db"), "--db", "postgres://u:p@localhost/db"],
      { TASKFERRY_HOME: dir },
    );
    assertEquals(pg.code, 2, pg.output);
    assert(pg.output.includes("pg_dump"), pg.output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
