/**
 * Scale-out: two relay nodes (real processes) on one PostgreSQL database. Alice's daemon talks
 * to node A, bob's to node B through a switchable TCP proxy (standing in for a load balancer).
 * The whole task flow crosses nodes; then node B is killed with SIGKILL mid-stream and the
 * proxy sends bob to node A: nothing is lost and nothing is applied twice.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { startTestDaemon, type TestDaemon } from "../client/world.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import { until } from "../wait.ts";
import { addRelayClient, freePort, startRelayNode } from "./relay_nodes.ts";

/** A TCP proxy whose upstream can be switched; `switchTo` also drops live connections. */
function switchableProxy(upstreamPort: number) {
  let target = upstreamPort;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const live = new Set<Deno.Conn>();
  (async () => {
    for await (const client of listener) {
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      } catch {
        client.close();
        continue;
      }
      live.add(client);
      live.add(server);
      const close = () => {
        for (const c of [client, server]) {
          live.delete(c);
          try {
            c.close();
          } catch {
            // closed
          }
        }
      };
      client.readable.pipeTo(server.writable).catch(() => {}).finally(close);
      server.readable.pipeTo(client.writable).catch(() => {}).finally(close);
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    switchTo(port: number) {
      target = port;
      for (const c of [...live]) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      live.clear();
    },
    close() {
      listener.close();
      this.switchTo(target);
    },
  };
}

const requirePg = Deno.env.get("CI") === "true";

Deno.test({
  name: "multi-node: the flow crosses two relays; killing one mid-stream loses nothing",
  ignore: !postgresBin() && !requirePg,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const pg = await startPostgres();
    const root = await Deno.makeTempDir({ prefix: "tf-multinode-" });
    const daemons: TestDaemon[] = [];
    const nodes: Deno.ChildProcess[] = [];
    let proxy: ReturnType<typeof switchableProxy> | null = null;
    try {
      const db = await pg.createDatabase("multinode");
      const portA = freePort();
      const portB = freePort();
      const a = await startRelayNode(db, { port: portA, logPath: join(root, "a.log") });
      nodes.push(a.child);
      const b = await startRelayNode(db, { port: portB, logPath: join(root, "b.log") });
      nodes.push(b.child);
      const alice = { token: await addRelayClient(db, "alice") };
      const bob = { token: await addRelayClient(db, "bob") };
      proxy = switchableProxy(portB);

      const aliceD = await startTestDaemon({ url: a.url }, "alice", { relayToken: alice.token });
      daemons.push(aliceD);
      const bobD = await startTestDaemon({ url: proxy.url }, "bob", { relayToken: bob.token });
      daemons.push(bobD);
      await aliceD.api.createAgent({ handle: "@alice/requester" });
      await bobD.api.createAgent({ handle: "@bob/writer", public: true });
      await until(
        "both linked",
        async () =>
          (await aliceD.api.health()).relay.connected && (await bobD.api.health()).relay.connected,
      );

      // The whole flow, alice on node A, bob on node B.
      await aliceD.api.connect({ from: "@alice/requester", to: "@bob/writer" });
      await bobD.api.waitForInbox("@bob/writer", (m) => m.type === "connection_request");
      await bobD.api.acceptConnection("@alice/requester");
      await aliceD.api.waitForInbox("@alice/requester", (m) => m.type === "connection_accept");
      const { task } = await aliceD.api.createTask({
        from: "@alice/requester",
        to: "@bob/writer",
        title: "Across nodes",
        instructions: "Write one line.",
      });
      await bobD.api.waitForInbox("@bob/writer", (m) => m.type === "task_request");
      await bobD.api.acceptTask(task.id);
      await bobD.api.submitArtifact(task.id, { content: "v1" });
      await aliceD.api.waitForInbox("@alice/requester", (m) => m.type === "artifact_submit");
      await aliceD.api.requestRevision(task.id, { feedback: "again" });
      await bobD.api.waitForInbox("@bob/writer", (m) => m.type === "revision_request");
      await bobD.api.submitArtifact(task.id, { content: "v2" });
      await until(
        "v2 at alice",
        async () => (await aliceD.api.task(task.id)).task.artifact_version === 2,
      );
      await aliceD.api.completeTask(task.id);
      await until(
        "completed at bob",
        async () => (await bobD.api.task(task.id)).task.state === "completed",
      );

      // A stream of messages; node B dies with SIGKILL in the middle of it.
      const sent: string[] = [];
      for (let i = 0; i < 60; i++) {
        const r = await aliceD.api.send({
          from: "@alice/requester",
          to: "@bob/writer",
          text: `m${i}`,
        });
        sent.push(r.message.id);
        if (i === 20) {
          b.child.kill("SIGKILL");
          await b.child.status;
          proxy.switchTo(portA); // the load balancer notices and sends bob to node A
        }
      }
      const seen = await until("all 60 at bob", async () => {
        const page = await bobD.api.inbox({ agent: "@bob/writer", type: "message", limit: 500 });
        return page.items.length >= 60 ? page.items : null;
      }, 30_000);
      const ids = seen.map((m) => m.id);
      assertEquals(new Set(ids).size, ids.length, "no message is applied twice");
      assertEquals(ids, sent, "every message arrives once, in send order");
      await until("alice sees them delivered", async () => {
        const states = await Promise.all(
          sent.map((id) => aliceD.api.message(id).then((m) => m.state)),
        );
        return states.every((s) => s === "delivered");
      }, 30_000);
      const detail = await bobD.api.task(task.id);
      assertEquals(detail.task.revisions, 1);
      assertEquals(detail.artifacts.map((x) => x.version), [1, 2]);
      assert(true);
    } finally {
      for (const d of daemons) await d.close().catch(() => {});
      proxy?.close();
      for (const n of nodes) {
        try {
          n.kill("SIGKILL");
        } catch {
          // already gone
        }
        await n.status;
      }
      await pg.stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
