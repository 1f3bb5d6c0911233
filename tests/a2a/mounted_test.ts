/**
 * The A2A sub-app as the daemon mounts it (lib/client/server.ts), reaching the loopback API in
 * process through the daemon app's own `fetch` (no socket hop) — so the daemon's defences (Host check, token in URL) and its bearer
 * check apply to the A2A routes as to any other.
 */
import { TaskState } from "@a2a-js/sdk";
import { startDaemon } from "../../lib/client/mod.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, WORLD_RELAY_OPTIONS } from "../client/world.ts";
import { sdkClient, sendRequest, text, textOf, userMessage } from "./helpers.ts";

Deno.test("a2a mounted in the daemon: in-process loopback calls, the card names the daemon's own URL", async () => {
  const relay = await startTestRelay(WORLD_RELAY_OPTIONS);
  const home = await Deno.makeTempDir({ prefix: "tf-alice-" });
  const alice = await startDaemon({
    home,
    clientId: "alice",
    relayUrl: relay.url,
    relayToken: await relay.addClient("alice"),
    port: 0,
    linkBackoff: { minBackoffMs: 20, maxBackoffMs: 200 },
  });
  const bob = await startTestDaemon(relay, "bob");
  const api = new TaskferryClient({ url: alice.url, token: alice.token });
  try {
    await api.createAgent({ handle: "@alice/requester" });
    await bob.api.createAgent({ handle: "@bob/writer", public: true });
    await eventually(async () =>
      (await api.health()).relay.connected && (await bob.api.health()).relay.connected
    );
    await api.connect({ from: "@alice/requester", to: "@bob/writer" });
    await bob.api.waitForInbox("@bob/writer", (m) => m.type === "connection_request");
    await bob.api.acceptConnection("@alice/requester");
    await api.waitForInbox("@alice/requester", (m) => m.type === "connection_accept");

    const endpoint = `${alice.url}/a2a/bob/writer`;
    const client = await sdkClient(endpoint, alice.token);
    assertEquals((await client.getAgentCard()).supportedInterfaces[0]?.url, endpoint);

    const events = [];
    const stream = client.sendMessageStream(sendRequest(userMessage([text("Haiku, in process")])));
    const first = await stream.next();
    assert(!first.done && first.value.payload?.$case === "task");
    const taskId = first.value.payload.value.id;
    await bob.api.waitForInbox("@bob/writer", (m) => m.task_id === taskId);
    await bob.api.acceptTask(taskId);
    await bob.api.submitArtifact(taskId, { content: "in-process ferry" });
    for await (const e of stream) events.push(e);
    const art = events.find((e) => e.payload?.$case === "artifactUpdate")?.payload;
    assert(art?.$case === "artifactUpdate");
    assertEquals(textOf(art.value.artifact?.parts), "in-process ferry");
    const task = await client.getTask({ tenant: "", id: taskId });
    assertEquals(task.status?.state, TaskState.TASK_STATE_INPUT_REQUIRED);

    // The daemon's own defences cover the mounted routes: a foreign Host (DNS rebinding) is
    // refused. Raw HTTP, since fetch always sends the URL's own Host.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: alice.port });
    await conn.write(new TextEncoder().encode(
      `GET /a2a/bob/writer/.well-known/agent-card.json HTTP/1.1\r\nHost: evil.example\r\n` +
        `Authorization: Bearer ${alice.token}\r\nConnection: close\r\n\r\n`,
    ));
    const answer = await new Response(conn.readable).text();
    assert(answer.startsWith("HTTP/1.1 403"), answer.split("\r\n")[0]);
    assert(answer.includes("bad_host"));
  } finally {
    await bob.close();
    await alice.close();
    await relay.close();
    for (const dir of [home, bob.home, relay.dir]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});
