/**
 * Offers across two relay nodes (real processes) on one PostgreSQL database (issue 17): the
 * requester and one candidate on node A, two candidates on node B; offers claimed concurrently
 * by all three still get exactly one worker each — the relays route, the requester decides —
 * and a peer on the other node is seen coming and going (presence crosses nodes).
 */
import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { eventually, startTestDaemon, type TestDaemon } from "../client/world.ts";
import { BOSS, claim, offer, REVIEWERS, view } from "../client/claims_world.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import { addRelayClient, startRelayNode } from "./relay_nodes.ts";

Deno.test({
  name: "multi-node: offers claimed by candidates on two relays get one worker each",
  ignore: !postgresBin() && Deno.env.get("CI") !== "true",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const pg = await startPostgres();
    const root = await Deno.makeTempDir({ prefix: "tf-multinode-offers-" });
    const daemons: TestDaemon[] = [];
    const nodes: Deno.ChildProcess[] = [];
    try {
      const db = await pg.createDatabase("offers");
      const a = await startRelayNode(db, { logPath: join(root, "a.log") });
      nodes.push(a.child);
      const b = await startRelayNode(db, { logPath: join(root, "b.log") });
      nodes.push(b.child);
      const start = async (id: string, url: string) => {
        const d = await startTestDaemon({ url }, id, { relayToken: await addRelayClient(db, id) });
        daemons.push(d);
        return d;
      };
      const boss = await start("boss", a.url);
      await boss.api.createAgent({ handle: BOSS });
      const candidates = [
        await start("c1", a.url),
        await start("c2", b.url),
        await start("c3", b.url),
      ];
      for (const [i, d] of candidates.entries()) {
        await d.api.createAgent({ handle: REVIEWERS[i]!, capabilities: ["review"], public: true });
      }
      for (const d of [boss, ...candidates]) {
        await eventually(async () => (await d.api.health()).relay.connected);
      }
      for (const [i, d] of candidates.entries()) {
        await boss.api.connect({ from: BOSS, to: REVIEWERS[i]! });
        await d.api.waitForInbox(REVIEWERS[i]!, (m) => m.type === "connection_request");
        await d.api.acceptConnection(BOSS);
        await eventually(async () =>
          (await boss.api.connections(BOSS)).some((c) =>
            c.peer === REVIEWERS[i] && c.state === "connected"
          )
        );
      }
      const ids: string[] = [];
      for (let n = 0; n < 5; n++) ids.push((await offer(boss, "cap:review", `review ${n}`)).id);
      for (const d of candidates) {
        for (const id of ids) {
          await eventually(async () => (await view(d, id)).state === "offered", 20_000);
        }
      }
      await Promise.all(candidates.flatMap((d, i) => ids.map((id) => claim(d, id, REVIEWERS[i]!))));
      for (const id of ids) {
        const worker = await eventually(async () => (await view(boss, id)).worker || null, 20_000);
        for (const [i, d] of candidates.entries()) {
          const expected = REVIEWERS[i] === worker ? "accepted" : "withdrawn";
          await eventually(async () => (await view(d, id)).state === expected, 20_000);
        }
        const events = (await boss.api.task(id)).events;
        assertEquals(events.filter((e) => e.type === "task_assign").length, 1);
      }
    } finally {
      for (const d of daemons) await d.close().catch(() => {});
      for (const n of nodes) {
        try {
          n.kill("SIGKILL");
        } catch {
          // gone
        }
        await n.status.catch(() => {});
      }
      await pg.stop().catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "multi-node: presence crosses relay nodes (a peer on the other node comes and goes)",
  ignore: !postgresBin() && Deno.env.get("CI") !== "true",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const pg = await startPostgres();
    const root = await Deno.makeTempDir({ prefix: "tf-multinode-presence-" });
    const daemons: TestDaemon[] = [];
    const nodes: Deno.ChildProcess[] = [];
    try {
      const db = await pg.createDatabase("presence");
      const a = await startRelayNode(db, { logPath: join(root, "a.log") });
      nodes.push(a.child);
      const b = await startRelayNode(db, { logPath: join(root, "b.log") });
      nodes.push(b.child);
      const bossToken = await addRelayClient(db, "boss");
      const c1Token = await addRelayClient(db, "c1");
      const boss = await startTestDaemon({ url: a.url }, "boss", { relayToken: bossToken });
      daemons.push(boss);
      let c1 = await startTestDaemon({ url: b.url }, "c1", { relayToken: c1Token });
      daemons.push(c1);
      const [R1] = REVIEWERS as [string];
      await boss.api.createAgent({ handle: BOSS });
      await c1.api.createAgent({ handle: R1, public: true });
      for (const d of [boss, c1]) {
        await eventually(async () => (await d.api.health()).relay.connected);
      }
      await boss.api.connect({ from: BOSS, to: R1 });
      await c1.api.waitForInbox(R1, (m) => m.type === "connection_request");
      await c1.api.acceptConnection(BOSS);
      const online = async (want: boolean) =>
        await eventually(async () => {
          const c = (await boss.api.connections(BOSS)).find((x) => x.peer === R1);
          return c?.online === want ? c : null;
        }, 20_000);
      await online(true);
      await c1.close();
      const away = await online(false);
      assertEquals(typeof away.last_seen, "string");
      c1 = await c1.start();
      daemons.push(c1);
      await online(true);
    } finally {
      for (const d of daemons) await d.close().catch(() => {});
      for (const n of nodes) {
        try {
          n.kill("SIGKILL");
        } catch {
          // gone
        }
        await n.status.catch(() => {});
      }
      await pg.stop().catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
