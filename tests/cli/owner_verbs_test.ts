/**
 * The owner's verbs as real child processes (`deno run -A main.ts …`) against daemons started
 * in-process: connections (list, accept, permissions, block, unblock), quarantine (list, paging,
 * accept, reject), audit (show, verify, export), ack, invite (create, list, revoke) and
 * `agent rotate-key` — with --help, --json and human output, misuse exit 2, refusals exit 1.
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../client/world.ts";
import { cliJson } from "./cli_run.ts";

const ALICE = "@alice/requester";
const BOB = "@bob/writer";

const cli = cliJson;

/** Expects exit 0; returns the parsed JSON (with --json) or stdout. */
// deno-lint-ignore no-explicit-any
async function ok(home: string, ...args: string[]): Promise<any> {
  const r = await cli(home, ...args);
  assertEquals(r.code, 0, `taskferry ${args.join(" ")}\n${r.stderr}${r.stdout}`);
  if (args.includes("--json")) assert(r.json !== null, `not JSON: ${r.stdout}`);
  return args.includes("--json") ? r.json : r.stdout;
}

/** Expects exit `code` with `text` on stderr. */
async function fails(home: string, code: number, text: string, ...args: string[]) {
  const r = await cli(home, ...args);
  assertEquals(r.code, code, `taskferry ${args.join(" ")}\n${r.stderr}${r.stdout}`);
  assert(r.stderr.includes(text), `stderr of ${args.join(" ")}: ${r.stderr}`);
}

Deno.test("cli owner verbs: connections, permissions, ack, audit, rotate-key, quarantine, invites, block", async () => {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const daemons: TestDaemon[] = [];
  const scratch = await Deno.makeTempDir({ prefix: "tf-owner-cli-" });
  try {
    const alice = await startTestDaemon(relay, "alice");
    daemons.push(alice);
    const bob = await startTestDaemon(relay, "bob");
    daemons.push(bob);
    const [a, b] = [alice.home, bob.home];
    await alice.api.createAgent({ handle: ALICE });
    await bob.api.createAgent({ handle: BOB, public: true });
    await eventually(async () =>
      (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
    );

    // Help for every verb, and misuse.
    const helps = await Promise.all(
      ["connections", "quarantine", "audit", "ack", "invite", "agent"].map((c) => ok(b, "help", c)),
    );
    for (const [i, c] of ["connections", "quarantine", "audit", "ack", "invite"].entries()) {
      assert(helps[i].startsWith(`Usage: taskferry ${c}`), helps[i]);
    }
    assert(helps[5].includes("rotate-key"), "agent help names rotate-key");
    await Promise.all([
      fails(b, 2, "unknown connections verb", "connections", "frobnicate"),
      fails(b, 2, "KEY=VALUE", "connections", "permissions", "set", ALICE, "--agent", BOB, "x=1"),
      fails(b, 2, "at least one MSG_ID", "ack"),
      fails(b, 2, "unknown audit verb", "audit", "nope"),
    ]);

    // A request arrives; the owner lists and accepts it from the CLI.
    await alice.api.connect({ from: ALICE, to: BOB, note: "hi" });
    await bob.api.waitForInbox(BOB, (m) => m.type === "connection_request");
    const pending = await ok(b, "connections", "--json");
    assertEquals(pending.connections[0].state, "pending_in");
    const accepted = await ok(b, "connections", "accept", ALICE, "--gate", "--json");
    assertEquals(accepted.connection.state, "connected");
    assert((await ok(b, "connections")).includes("connected"));
    await alice.api.waitForInbox(ALICE, (m) => m.type === "connection_accept");

    // Permissions: read, edit (human and JSON).
    const got = await ok(b, "connections", "permissions", "get", ALICE, "--agent", BOB, "--json");
    assertEquals(got.permissions.require_human_gate, true);
    const set = await ok(
      b,
      "connections",
      "permissions",
      "set",
      ALICE,
      "--agent",
      BOB,
      "max_rate_per_minute=30",
      "require_human_gate=false",
      "--json",
    );
    assertEquals([set.permissions.max_rate_per_minute, set.permissions.require_human_gate], [
      30,
      false,
    ]);
    assert(
      (await ok(b, "connections", "permissions", "get", ALICE, "--agent", BOB))
        .includes("max_rate_per_minute  30"),
    );

    // ack: read, then processed; the sender sees it.
    const sent = await alice.api.send({ from: ALICE, to: BOB, text: "ack me" });
    await bob.api.waitForInbox(BOB, (m) => m.id === sent.message.id);
    const read = await ok(b, "ack", sent.message.id, "--json");
    assertEquals(read.messages[0].id, sent.message.id);
    assert((await ok(b, "ack", sent.message.id, "--processed")).includes("processed"));
    await eventually(async () => (await alice.api.message(sent.message.id)).state === "processed");

    // audit: a task leaves a chain on both sides; show, verify, export; tampering is found.
    const task = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "t",
      instructions: "do it",
    });
    await bob.api.waitForInbox(BOB, (m) => m.type === "task_request");
    const shown = await ok(a, "audit", "--task", task.task.id, "--json");
    assert(shown.events.length >= 1);
    assert((await ok(a, "audit", "verify")).startsWith("ok: 1 tasks"));
    const file = `${scratch}/audit.jsonl`;
    assert((await ok(a, "audit", "export", "--out", file)).includes("wrote"));
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines.map((e) => e.hash), shown.events.map((e: { hash: string }) => e.hash));
    alice.running.daemon.db.exec(`UPDATE task_events SET actor = '@alice/mallory'`);
    await fails(a, 1, "", "audit", "verify");
    const broken = await cli(a, "audit", "verify");
    assert(broken.stdout.includes(`BROKEN ${task.task.id}`), broken.stdout);

    // rotate-key: bob's daemon holds alice's next message until the owner accepts the key.
    const rotated = await ok(a, "agent", "rotate-key", ALICE, "--json");
    assert(rotated.agent.fingerprint !== accepted.connection.peer_fingerprint);
    const m2 = await alice.api.send({ from: ALICE, to: BOB, text: "new keys" });
    const held = await eventually(async () => {
      const q = await ok(b, "quarantine", "--json");
      return q.items.find((i: { id: string }) => i.id === m2.message.id);
    });
    assertEquals(held.reason, "key_changed");
    assert((await ok(b, "quarantine")).includes("key_changed"));
    assert((await ok(b, "quarantine", "accept", m2.message.id)).includes("1 applied"));
    await bob.api.waitForInbox(BOB, (m) => m.id === m2.message.id, { timeoutMs: 5000 });

    // quarantine: paging and reject.
    for (let i = 0; i < 3; i++) {
      await bob.running.daemon.inbound.deliver(0, { junk: i, from: "@mallory/x" });
    }
    const page1 = await ok(b, "quarantine", "--limit", "2", "--json");
    assertEquals(page1.items.length, 2);
    assert(page1.next_before !== null);
    const page2 = await ok(b, "quarantine", "--limit", "2", "--before", `${page1.next_before}`);
    assert(page2.includes("invalid_envelope"), page2);
    assert((await ok(b, "quarantine", "reject", page1.items[0].id)).includes("rejected"));
    assertEquals((await ok(b, "quarantine", "--json")).items.length, 2);
    await fails(b, 1, "not_found", "quarantine", "accept", "msg_nosuch");

    // invites: create, list, revoke.
    const inv = await ok(b, "invite", BOB, "--json");
    const listed = await ok(b, "invite", "list", "--json");
    assertEquals(listed.invites[0].code, inv.invite.code);
    assertEquals(listed.invites[0].state, "active");
    assert((await ok(b, "invite", "revoke", inv.invite.code)).includes("revoked"));
    assert((await ok(b, "invite", "list")).includes("revoked"));

    // block: the relay refuses alice, bob's list says so; unblock forgets it.
    const blocked = await ok(b, "connections", "block", ALICE, "--json");
    assertEquals(blocked.connections[0].state, "blocked");
    assert((await ok(b, "connections")).includes("blocked"));
    const m3 = await alice.api.send({ from: ALICE, to: BOB, text: "still there?" });
    await eventually(async () => (await alice.api.message(m3.message.id)).state === "failed");
    assert((await ok(b, "connections", "unblock", ALICE)).includes("unblocked"));
    assertEquals((await ok(b, "connections", "--json")).connections, []);
  } finally {
    for (const d of daemons) await d.close();
    await relay.close();
    for (const dir of [...daemons.map((d) => d.home), relay.dir, scratch]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});
