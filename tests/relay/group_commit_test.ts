/**
 * Group commit of accepts (lib/relay/store/sqlite_group.ts): the accepts of one turn share a
 * COMMIT; an `accepted` frame is sent only after that COMMIT (another connection already sees
 * the row when the frame arrives); a refusal in the middle of a group undoes only itself; a
 * session's answers and its recipients' deliveries keep the order of its frames.
 */
import { assert, assertEquals } from "../assert.ts";
import { DatabaseSync } from "node:sqlite";
import type { RelayFrame } from "../../lib/protocol/mod.ts";
import { openSqliteRelayStore } from "../../lib/relay/sqlite_store.ts";
import { connectedPair, envelopeId, seal, takeDeliveries, withRelay } from "./sim.ts";

Deno.test("group commit: answers after COMMIT, in order; a refusal undoes only itself", async () => {
  await withRelay({}, async (relay) => {
    const { alice, bob, a, b } = await connectedPair(relay);
    await takeDeliveries(b, 1, { ack: true }); // alice's connection_request
    const commitsBefore = (relay.relay.store as unknown as { cacheStats: { commits: number } })
      .cacheStats.commits;
    const n = 60;
    const envelopes = [];
    for (let i = 0; i < n; i++) {
      envelopes.push(
        await seal(alice, [bob], "message", { text: `m${i}` }, { device_id: a.deviceId }),
      );
    }
    // Index 20: altered after signing (bad_signature); index 40: index 10 again (duplicate).
    const frames: unknown[] = envelopes.map((e) => e);
    frames[20] = { ...envelopes[20]!, created_at: new Date(Date.now() + 1000).toISOString() };
    frames[40] = envelopes[10];

    // The check runs synchronously as each answer arrives, on a connection of its own.
    const reader = new DatabaseSync(relay.dbPath, { readOnly: true });
    const stored = reader.prepare("SELECT 1 AS x FROM envelopes WHERE id = ?");
    const answers: { type: string; id: string; code?: string; durable: boolean }[] = [];
    const done = Promise.withResolvers<void>();
    a.ws.addEventListener("message", (e) => {
      const f = JSON.parse(e.data as string) as RelayFrame;
      if (f.type !== "accepted" && f.type !== "error") return;
      const id = f.id ?? "";
      const durable = stored.get(id) !== undefined;
      answers.push({ type: f.type, id, durable, ...(f.type === "error" ? { code: f.code } : {}) });
      if (answers.length === n) done.resolve();
    });
    for (const envelope of frames) a.raw({ type: "send", envelope });
    await done.promise;
    reader.close();

    const expected = frames.map((f) => (f as { id: string }).id);
    assertEquals(answers.map((x) => x.id), expected, "answers in the order of the frames");
    for (const [i, x] of answers.entries()) {
      if (i === 20) assertEquals([x.type, x.code], ["error", "bad_signature"]);
      else if (i === 40) assertEquals([x.type, x.code], ["error", "duplicate_envelope"]);
      else {
        assertEquals(x.type, "accepted");
        assert(x.durable, `accepted ${x.id} before another connection could read it`);
      }
    }
    const accepted = n - 2;
    const commits = (relay.relay.store as unknown as { cacheStats: { commits: number } })
      .cacheStats.commits - commitsBefore;
    console.log(`GROUP ${accepted} accepts in ${commits} commits`);
    assert(commits < accepted, `${commits} group commits for ${accepted} accepts`);

    // Bob gets every accepted envelope once, in the order alice sent them, seqs ascending.
    const got = await takeDeliveries(b, accepted, { ack: true });
    const want = envelopes.filter((_, i) => i !== 20 && i !== 40).map((e) => e.id);
    assertEquals(got.map((g) => g.id), want);
    for (let i = 1; i < got.length; i++) assert(got[i]!.seq > got[i - 1]!.seq);
    assertEquals(b.frames.filter((f) => f.type === "deliver").map(envelopeId), []);
  });
});

Deno.test("group commit: work of one turn shares a COMMIT; `after` runs once others can read it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-group-" });
  const path = `${dir}/relay.db`;
  const store = openSqliteRelayStore(path, { checkpoint: false });
  const reader = new DatabaseSync(path, { readOnly: true });
  try {
    const visible = (id: string) =>
      reader.prepare("SELECT 1 AS x FROM clients WHERE id = ?").get(id) !== undefined;
    const commits = store.cacheStats.commits;
    const seen: string[] = [];
    await Promise.all([1, 2, 3].map((i) =>
      store.grouped(async (s) => {
        await s.addClient(`g${i}`, "hash", i);
        if (i === 2) throw new Error("refused after writing");
        return i;
      }, (outcome, commitError) => {
        assertEquals(commitError, undefined);
        seen.push(`g${i}:${outcome.ok ? "ok" : "refused"}:${visible(`g${i}`)}`);
      })
    ));
    // In order; the refused one's write was undone; the others were readable when answered.
    assertEquals(seen, ["g1:ok:true", "g2:refused:false", "g3:ok:true"]);
    assertEquals(store.cacheStats.commits - commits, 1);
  } finally {
    reader.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
