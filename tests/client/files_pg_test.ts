/**
 * Files on PostgreSQL (issue 16): two relay nodes as real processes (`taskferry relay --db
 * postgres://…`) on one database. Alice's daemon uploads through node A, bob's daemon downloads
 * through node B: the chunk table lets any node serve any blob. Skipped when PostgreSQL is not
 * installed (required in CI).
 */
import { assertEquals } from "../assert.ts";
import { postgresBin, startPostgres } from "../relay/pg.ts";
import { eventually, startTestDaemon, type TestDaemon } from "./world.ts";
import { fetchFile, markedFile, MB, sha256Of } from "./files_helpers.ts";
import { addRelayClient, startRelayNode } from "../relay/relay_nodes.ts";

Deno.test({
  name: "files on PostgreSQL: uploaded through node A, downloaded through node B",
  ignore: !postgresBin() && Deno.env.get("CI") !== "true",
  fn: async () => {
    const pg = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "tf-files-pg-" });
    const nodes: Deno.ChildProcess[] = [];
    const daemons: TestDaemon[] = [];
    try {
      const db = await pg.createDatabase("files");
      const a = await startRelayNode(db);
      nodes.push(a.child);
      const b = await startRelayNode(db);
      nodes.push(b.child);
      const aliceTok = await addRelayClient(db, "alice");
      const bobTok = await addRelayClient(db, "bob");
      const alice = await startTestDaemon({ url: a.url }, "alice", {
        relayToken: aliceTok,
        filesRoot: dir,
      });
      daemons.push(alice);
      const bob = await startTestDaemon({ url: b.url }, "bob", { relayToken: bobTok });
      daemons.push(bob);
      await alice.api.createAgent({ handle: "@alice/requester" });
      await bob.api.createAgent({ handle: "@bob/writer", public: true });
      await eventually(async () =>
        (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
      );
      await alice.api.connect({ from: "@alice/requester", to: "@bob/writer" });
      await bob.api.waitForInbox("@bob/writer", (m) => m.type === "connection_request");
      await bob.api.acceptConnection("@alice/requester");
      await alice.api.waitForInbox("@alice/requester", (m) => m.type === "connection_accept");

      const path = await markedFile(dir, "pg.bin", 5 * MB + 123);
      const want = await sha256Of((await Deno.open(path)).readable);
      const sent = await alice.api.send({
        from: "@alice/requester",
        to: "@bob/writer",
        files: [{ path }],
      });
      const file = await eventually(async () => {
        const m = await bob.api.message(sent.message.id).catch(() => null);
        return m?.files?.[0]?.state === "ready" ? m.files[0] : null;
      }, 30_000);
      assertEquals(await sha256Of((await fetchFile(bob, file.id)).body!), want);
    } finally {
      for (const d of daemons) {
        await d.close();
        await Deno.remove(d.home, { recursive: true }).catch(() => {});
      }
      for (const n of nodes) {
        n.kill("SIGTERM");
        await n.status;
      }
      await pg.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
