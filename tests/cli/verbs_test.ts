/**
 * The CLI verbs as real child processes (`deno run -A main.ts …`) against daemons started
 * in-process: each child finds its daemon through $TASKFERRY_HOME (daemon.json, local-token).
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../client/world.ts";
import { cliJson } from "./cli_run.ts";

const ALICE = "@alice/requester";
const BOB = "@bob/writer";

const cli = cliJson;

/** Expects exit 0 and returns the parsed JSON output. */
// deno-lint-ignore no-explicit-any
async function ok(home: string, ...args: string[]): Promise<any> {
  const r = await cli(home, ...args);
  assertEquals(r.code, 0, `taskferry ${args.join(" ")}\n${r.stderr}${r.stdout}`);
  if (args.includes("--json")) assert(r.json !== null, `not JSON: ${r.stdout}`);
  return r.json ?? r.stdout;
}

Deno.test("cli verbs: the whole flow through child processes, misuse exits 2, refusals exit 1", async () => {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const daemons: TestDaemon[] = [];
  const scratch = await Deno.makeTempDir({ prefix: "tf-cli-" });
  try {
    const alice = await startTestDaemon(relay, "alice");
    daemons.push(alice);
    const bob = await startTestDaemon(relay, "bob");
    daemons.push(bob);
    const a = alice.home;
    const b = bob.home;

    const status = await ok(a, "status", "--json");
    assertEquals(status.client_id, "alice");
    assertEquals(status.relay.configured, true);
    assertEquals(status.relay.url, relay.url);
    assert(!JSON.stringify(status).includes(alice.relayToken), "status leaks the relay token");

    const [createdA, createdB] = await Promise.all([
      ok(a, "agent-create", ALICE, "--name", "Alice's requester", "--json"),
      ok(b, "agent-create", BOB, "--capability", "writing", "--json"),
    ]);
    assertEquals(createdA.agent.handle, ALICE);
    assertEquals(createdA.agent.display_name, "Alice's requester");
    assertEquals(createdB.agent.capabilities, ["writing"]);

    const agents = await ok(b, "agents", "--json");
    assertEquals(agents.agents.map((x: { handle: string }) => x.handle), [BOB]);
    assertEquals(agents.agents[0].fingerprint, createdB.agent.fingerprint);
    assert(!/private/i.test(JSON.stringify(agents)), "agents --json shows private keys");

    // bob is private: alice connects through his invite link, which pins his fingerprint.
    const invite = await ok(b, "invite", BOB, "--json");
    assert(invite.invite.url.startsWith("taskferry://"), invite.invite.url);
    assert(invite.invite.url.endsWith(`#fp=${createdB.agent.fingerprint}`), invite.invite.url);
    const connect = await ok(
      a,
      "connect",
      "--from",
      ALICE,
      invite.invite.url,
      "--note",
      "hi",
      "--json",
    );
    assertEquals(connect.connection.state, "pending_out");
    assertEquals(connect.connection.peer_fingerprint, createdB.agent.fingerprint);
    await bob.api.waitForInbox(BOB, (m) => m.type === "connection_request", { timeoutMs: 5000 });
    const accept = await ok(b, "accept", ALICE, "--json");
    assertEquals(accept.connection.state, "connected");
    await eventually(async () => (await alice.api.connections(ALICE))[0]?.state === "connected");

    const sent = await ok(a, "send", "--from", ALICE, "--to", BOB, "hello from the CLI", "--json");
    const inbox = await ok(
      b,
      "inbox",
      "--agent",
      BOB,
      "--type",
      "message",
      "--wait",
      "5",
      "--json",
    );
    assertEquals(inbox.agent, BOB);
    assertEquals(inbox.items.map((m: { id: string }) => m.id), [sent.message.id]);
    assertEquals(inbox.items[0].payload.text, "hello from the CLI");

    // A task, start to finish, acted on only through the CLI.
    const created = await ok(
      a,
      "task",
      "create",
      "--from",
      ALICE,
      "--to",
      BOB,
      "--title",
      "CLI haiku",
      "--instructions",
      "About terminals.",
      "--max-revisions",
      "2",
      "--json",
    );
    const id = created.task.id as string;
    assertEquals(created.task.state, "requested");
    await bob.api.waitForInbox(BOB, (m) => m.task_id === id, { timeoutMs: 5000 });
    const listed = await ok(b, "task", "list", "--json");
    assertEquals(listed.tasks.map((t: { id: string }) => t.id), [id]);
    const shown = await ok(b, "task", "show", id, "--json");
    assertEquals([shown.task.title, shown.task.state], ["CLI haiku", "requested"]);
    assertEquals((await ok(b, "task", "accept", id, "--json")).task.state, "accepted");
    assertEquals(
      (await ok(b, "task", "submit", id, "--content", "blinking cursor", "--json")).task.state,
      "submitted",
    );
    await eventually(async () => (await alice.api.task(id)).task.artifact_version === 1);
    const revised = await ok(a, "task", "revise", id, "--feedback", "add a kigo", "--json");
    assertEquals([revised.task.state, revised.task.revisions], ["revision_requested", 1]);
    await eventually(async () => (await bob.api.task(id)).task.state === "revision_requested");
    const draft = `${scratch}/draft.md`;
    await Deno.writeTextFile(draft, "autumn terminal\nblinking cursor waits\n");
    const v2 = await ok(b, "task", "submit", id, "--content", `@${draft}`, "--json");
    assertEquals(v2.task.artifact_version, 2);
    await eventually(async () => (await alice.api.task(id)).task.artifact_version === 2);
    assertEquals(
      (await ok(a, "task", "complete", id, "--note", "ok", "--json")).task.state,
      "completed",
    );
    await eventually(async () => (await bob.api.task(id)).task.state === "completed");
    const final = await ok(a, "task", "show", id, "--json");
    assertEquals(final.artifacts.map((x: { content: string }) => x.content), [
      "blinking cursor",
      "autumn terminal\nblinking cursor waits\n",
    ]);
    const human = await ok(a, "task", "list");
    assert(human.includes(id) && human.includes("completed"), human);

    // Misuse exits 2 with one line; a refusal by the API exits 1 with its code.
    const [noSub, noTo, badFlag, refused] = await Promise.all([
      cli(a, "task", "frobnicate"),
      cli(a, "send", "--from", ALICE, "text"),
      cli(a, "inbox", "--bogus"),
      cli(b, "task", "cancel", id, "--json"),
    ]);
    for (const r of [noSub, noTo, badFlag]) {
      assertEquals(r.code, 2, r.stderr);
      assert(r.stderr.startsWith("taskferry: "), r.stderr);
      assertEquals(r.stdout, "");
    }
    assert(noTo.stderr.includes("--to"), noTo.stderr);
    assert(badFlag.stderr.includes("--bogus"), badFlag.stderr);
    assertEquals(refused.code, 1, refused.stderr);
    assert(refused.stderr.startsWith("taskferry: task_role: "), refused.stderr);
    assertEquals(refused.stdout, "");
    assertEquals((await bob.api.task(id)).task.state, "completed");
  } finally {
    for (const d of daemons) await d.close().catch(() => {});
    await relay.close();
    for (const dir of [...daemons.map((d) => d.home), relay.dir, scratch]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});
