/**
 * Every verb of the Go `taskferry` CLI as a real child process, with its flags, against two
 * daemons on a relay; the owner ids and handles are Go-shaped (`team_name`, `@team_name/agent-1`).
 */
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../client/world.ts";
import { okJson, taskferry } from "./go_run.ts";
import { relayTokenFor } from "../../lib/cli/env_aliases.ts";

const A = "@team_name/agent-1";
const B = "@bob/writer";

Deno.test("go cli: every Go verb, its flags and JSON output, as child processes", async () => {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const daemons: TestDaemon[] = [];
  const scratch = await Deno.makeTempDir({ prefix: "tf-go-cli-" });
  try {
    const team = await startTestDaemon(relay, "team_name");
    daemons.push(team);
    const bob = await startTestDaemon(relay, "bob");
    daemons.push(bob);
    const env = { TASKFERRY_HOME: scratch };
    const url = (d: TestDaemon) => `http://127.0.0.1:${d.port}`;
    // The Go CLI's global flags came before the verb; ours take them after it too.
    const a = (...args: string[]) =>
      okJson(env, "--base-url", url(team), "--api-token", team.token, ...args);
    const b = (...args: string[]) =>
      okJson(env, ...args, "--base-url", url(bob), "--api-token", bob.token);

    assertEquals((await a("health")).client_id, "team_name");
    const created = await a(
      "agent-create",
      "--handle",
      A,
      "--display-name",
      "Team agent",
      "--tagline",
      "Available for TaskFerry work.",
      "--capabilities",
      "code,review",
    );
    assertEquals(created.agent.handle, A);
    assertEquals(created.agent.capabilities, ["code", "review"]);
    assertEquals(created.agent.display_name, "Team agent");
    assertEquals((await b("agent-create", "--handle", B, "--public")).agent.handle, B);
    await eventually(async () =>
      (await team.api.health()).relay.connected && (await bob.api.health()).relay.connected
    );

    const invite = (await b("invite-show", "--agent", B)).invite;
    assert(invite.url.startsWith("taskferry://"), invite.url);
    const preview = await a("invite-open", invite.url, "--no-browser");
    assertEquals(preview.invite.agent, B);
    assertEquals((await a("link-open", "--no-browser", invite.url)).invite.agent, B);
    const friend = await a("friend-add", "--from", A, "--invite", invite.url, "--message", "hi");
    assertEquals(friend.connection.state, "pending_out");
    await bob.api.waitForInbox(B, (m) => m.type === "connection_request", { timeoutMs: 5000 });
    const inbox = await b("inbox", "--agent", B);
    assertEquals(inbox.unprocessed, true);
    const request = inbox.items.find((m: { type: string }) => m.type === "connection_request");
    assertEquals(request.from, A);
    const accepted = await b("connection-accept", "--from", B, "--to", A);
    assertEquals(accepted.connection.state, "connected");

    // connection-request by handle (bob is public), from a second Go-shaped agent.
    await team.api.createAgent({ handle: "@team_name/agent_2" });
    const asked = await a(
      "connection-request",
      "--from",
      "@team_name/agent_2",
      "--to",
      B,
      "--message",
      "me too",
    );
    assertEquals(asked.connection.state, "pending_out");

    await eventually(async () =>
      (await team.api.connections(A)).some((c) => c.state === "connected")
    );
    const task = (await a(
      "task-create",
      "--from",
      A,
      "--to",
      B,
      "--title",
      "Ad lines",
      "--description",
      "Three lines.",
      "--requirements",
      "short,fun",
      "--expected-format",
      "json",
    )).task;
    assertEquals(task.max_revisions, 3);
    assertEquals(task.inputs, { requirements: ["short", "fun"], expected_format: "json" });
    await eventually(async () => (await bob.api.tasks()).some((t) => t.id === task.id));
    assert((await b("tasks")).tasks.some((t: { id: string }) => t.id === task.id));
    assertEquals(
      (await b("task-accept", "--task", task.id, "--from", B, "--message", "on it")).task.state,
      "accepted",
    );
    const v1 = await b(
      "task-submit",
      "--task",
      task.id,
      "--from",
      B,
      "--content-json",
      '{"lines":["one"]}',
      "--notes",
      "First draft.",
    );
    assertEquals(v1.task.artifact_version, 1);
    await eventually(async () => (await team.api.task(task.id)).task.state === "submitted");
    const revision = await a(
      "task-revision",
      "--task",
      task.id,
      "--from",
      A,
      "--reason",
      "More.",
      "--requested-changes",
      "shorter,funnier",
    );
    assertEquals(revision.task.state, "revision_requested");
    await eventually(async () => (await bob.api.task(task.id)).task.state === "revision_requested");
    const file = `${scratch}/v2.json`;
    await Deno.writeTextFile(file, '{"lines":["two"]}');
    const v2 = await b(
      "task-submit",
      "--task",
      task.id,
      "--from",
      B,
      "--content-json",
      '{"ignored":true}',
      "--content-file",
      file,
    );
    assertEquals(v2.task.artifact_version, 2);
    const artifact = await bob.api.artifact(task.id, 2);
    assertEquals(JSON.parse(artifact.content), { lines: ["two"] }, "the file wins");
    await eventually(async () => (await team.api.task(task.id)).task.artifact_version === 2);
    const done = await a("task-complete", "--task", task.id, "--from", A, "--message", "thanks");
    assertEquals(done.task.state, "completed");

    // message-ack marks processed; inbox shows unprocessed items unless --unprocessed=false.
    const acked = await b("message-ack", "--id", request.id);
    assertEquals(acked.message.state, "processed");
    const after = await b("inbox", "--agent", B);
    assert(!after.items.some((m: { id: string }) => m.id === request.id), "acked item listed");
    const all = await b("inbox", "--agent", B, "--unprocessed=false");
    assert(all.items.some((m: { id: string }) => m.id === request.id));

    const second = (await a(
      "task-create",
      "--from",
      A,
      "--to",
      B,
      "--title",
      "Another",
      "--description",
      "x",
    )).task;
    await eventually(async () => (await bob.api.tasks()).some((t) => t.id === second.id));
    const declined = await b("task-decline", "--task", second.id, "--from", B, "--reason", "busy");
    assertEquals(declined.task.state, "declined");

    // setup-open saves a Go-style setup link's credentials (no browser, token out of URLs).
    const link = "taskferry://relay.example.com/setup?client_id=client_carol" +
      "&relay_token=carol-token&relay_http=https://relay.example.com" +
      "&relay_ws=wss://relay.example.com/v1/ws";
    const setup = await okJson(env, "setup-open", "--setup", link, "--no-browser");
    assertEquals(setup.client_id, "carol");
    const saved = JSON.parse(await Deno.readTextFile(`${scratch}/relay-credentials.json`));
    assertEquals(saved, {
      relay_url: "https://relay.example.com",
      client_id: "carol",
      relay_token: relayTokenFor("carol", "carol-token"),
    });

    // The operator's verbs take the Go spelling of a client id too.
    const added = await okJson(
      env,
      "relay",
      "add-client",
      "client_dora",
      "--db",
      `${scratch}/relay.db`,
      "--json",
    );
    assertEquals(added.client_id, "dora");
    assert(added.token.startsWith("tfr.dora."), added.token);

    // Refusals: bad JSON is misuse (2); a wrong token is a failure (1); a missing flag is 2.
    const bad = await taskferry(
      env,
      "task-submit",
      "--task",
      task.id,
      "--from",
      B,
      "--content-json",
      "{nope",
      "--base-url",
      url(bob),
      "--api-token",
      bob.token,
    );
    assertEquals(bad.code, 2, bad.stderr);
    assert(bad.stderr.includes("--content-json is not valid JSON"), bad.stderr);
    const wrong = await taskferry(env, "--base-url", url(bob), "--api-token", "nope", "tasks");
    assertEquals(wrong.code, 1, wrong.stderr);
    assert(wrong.stderr.includes("unauthorized"), wrong.stderr);
    const missing = await taskferry(env, "task-accept", "--task", task.id);
    assertEquals(missing.code, 2);
    assert(missing.stderr.includes("task-accept needs --from"), missing.stderr);
    const notGo = await taskferry(env, "--base-url", url(bob), "status");
    assertEquals(notGo.code, 2);
    assert(notGo.stderr.includes("are for the Go TaskFerry verbs"), notGo.stderr);
  } finally {
    for (const d of daemons) await d.close().catch(() => {});
    await relay.close();
    for (const d of [scratch, ...daemons.map((d) => d.home)]) {
      await Deno.remove(d, { recursive: true }).catch(() => {});
    }
  }
});
