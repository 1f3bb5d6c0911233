/**
 * Strangers cannot fill a daemon's disk through its quarantine (docs/security.md §2.3): held
 * items are bounded metadata plus at most 4 KB of the envelope (whole only for a small
 * `key_changed` one), the table stays within its cap (oldest-first eviction), reject deletes,
 * and the list is paged. Envelopes are handed to the inbound pipeline directly — what a relay
 * that does not enforce its limits, or a malicious one, would deliver — so the flood is fast.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ApiError } from "../../lib/sdk/mod.ts";
import {
  encodeBase64Url,
  type Envelope,
  newId,
  randomBytes,
  sign,
  signingInput,
} from "../../lib/protocol/mod.ts";
import { registerAgent, type SimAgent, startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon } from "./world.ts";
import { dbCount } from "./helpers.ts";
import { CLIENT_MIGRATIONS, DaemonStore } from "../../lib/client/mod.ts";
import { openDatabase, run } from "../../lib/store/mod.ts";

const BOB = "@bob/writer";
const JUNK = "x".repeat(65_536);

/** A validly signed envelope whose content no key opens, `bytes` of ciphertext long. */
async function undecryptable(
  from: SimAgent,
  type: "connection_request" | "message",
  ciphertext: string,
): Promise<Envelope> {
  const unsigned = {
    v: 1 as const,
    id: newId("msg"),
    type,
    from: from.handle,
    to: [BOB],
    created_at: new Date().toISOString(),
    device_id: newId("dev"),
    ...(type === "message" ? { conversation_id: newId("conv") } : {}),
    payload: {
      alg: "HPKE-X25519-SHA256-A256GCM",
      content_type: "application/json",
      nonce: encodeBase64Url(randomBytes(12)),
      ciphertext,
      keys: [{
        to: BOB,
        enc: encodeBase64Url(randomBytes(32)),
        wrapped: encodeBase64Url(randomBytes(48)),
      }],
    },
  };
  const sig = await sign(from.keys.signing.privateKey, signingInput(unsigned as Envelope));
  return { ...unsigned, sig: encodeBase64Url(sig) } as Envelope;
}

/** Bytes of the daemon's database files (after a checkpoint, so the WAL is folded in). */
function diskBytes(t: TestDaemon): number {
  t.running.daemon.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  let total = 0;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      total += Deno.statSync(`${t.home}/client.db${suffix}`).size;
    } catch { /* absent */ }
  }
  return total;
}

async function setup(opts: { quarantineMaxBytes?: number } = {}) {
  const relay = await startTestRelay();
  const bob = await startTestDaemon(relay, "bob", opts);
  await bob.api.createAgent({ handle: BOB, public: true });
  const token = await relay.addClient("mallory");
  const agents: SimAgent[] = [];
  for (let i = 0; i < 10; i++) {
    agents.push(await registerAgent(relay, token, "mallory", `a${i}`, { public: true }));
  }
  return {
    relay,
    bob,
    agents,
    close: async () => {
      await bob.close();
      await relay.close();
      await Deno.remove(bob.home, { recursive: true }).catch(() => {});
      await Deno.remove(relay.dir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("quarantine bounds: a flood from 10 stranger agents of one client grows the daemon's disk by a bounded amount", async () => {
  const w = await setup();
  try {
    const deliver = w.bob.running.daemon.inbound.deliver;
    const before = diskBytes(w.bob);
    const cr16k = encodeBase64Url(randomBytes(12_000)); // a 16 KB envelope: the relay's cap
    const big = encodeBase64Url(randomBytes(60_000)).repeat(25); // a 2 MB envelope: the default cap
    let attempted = 0;
    // Per agent: 60 signed connection requests at the relay's size cap (what the relay passes
    // from a whole client in a minute is 120), 2 signed envelopes at the default 2 MB envelope
    // cap, 350 frames of 64 KB garbage (what a malicious relay could hand over) — 10 agents,
    // 4,120 items: more than the default 16 MiB cap holds (~3,800 clipped items).
    for (const a of w.agents) {
      for (let i = 0; i < 60; i++) {
        const env = await undecryptable(a, "connection_request", cr16k);
        attempted += JSON.stringify(env).length;
        await deliver(0, env);
      }
      for (let i = 0; i < 2; i++) {
        const env = await undecryptable(a, "message", big);
        attempted += JSON.stringify(env).length;
        await deliver(0, env);
      }
      for (let i = 0; i < 350; i++) {
        const junk = {
          v: 1,
          id: `junk_${i}`,
          from: a.handle,
          type: "message",
          x: JUNK,
        };
        attempted += JSON.stringify(junk).length;
        await deliver(0, junk);
      }
    }
    const grew = diskBytes(w.bob) - before;
    const held = w.bob.running.daemon.store.quarantine;
    console.log(
      `flood: ${(attempted / 1e6).toFixed(1)} MB in ${10 * 412} envelopes → quarantine ` +
        `${(held.totalBytes() / 1e6).toFixed(2)} MB (${held.countOpen()} items), ` +
        `daemon disk +${(grew / 1e6).toFixed(2)} MB`,
    );
    assert(attempted > 250e6, "the flood is big");
    assert(held.countOpen() < 10 * 412, "the cap evicted");
    assert(held.totalBytes() <= 16 * 1024 * 1024, "within the default cap");
    assert(grew < 16 * 1024 * 1024 + 4e6, `disk grew by ${grew}`);
    // Nothing of it became a connection or a message.
    assertEquals(dbCount(w.bob, "SELECT count(*) AS n FROM connections"), 0);
    assertEquals(dbCount(w.bob, "SELECT count(*) AS n FROM messages"), 0);
    // Listing reads columns only: a page of 500 of these thousands of items is quick.
    const t0 = performance.now();
    const big500 = await w.bob.api.quarantine({ limit: 500 });
    const listMs = performance.now() - t0;
    console.log(`list: 500 items in ${listMs.toFixed(0)} ms`);
    assertEquals(big500.items.length, 500);
    assert(listMs < 1000, `listing took ${listMs} ms`);
    const page = await w.bob.api.quarantine({ limit: 3 });
    assertEquals(page.items.length, 3);
    assert(page.items.every((i) => i.size > 0 && !i.complete && i.from.startsWith("@mallory/")));
  } finally {
    await w.close();
  }
});

Deno.test("quarantine bounds: the cap evicts oldest first, the list pages newest first, reject deletes", async () => {
  const w = await setup({ quarantineMaxBytes: 65_536 });
  try {
    const deliver = w.bob.running.daemon.inbound.deliver;
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const env = await undecryptable(w.agents[i % 10]!, "connection_request", "A".repeat(8000));
      ids.push(env.id);
      await deliver(0, env);
    }
    const held = w.bob.running.daemon.store.quarantine;
    assert(held.totalBytes() <= 65_536, `${held.totalBytes()} over the cap`);
    const count = held.countOpen();
    assert(count < 40 && count >= 10, `${count} items held`);

    // Paged, newest first: the newest `count` of the flood, in reverse, with no overlap.
    const seen: string[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await w.bob.api.quarantine({ limit: 4, ...(before ? { before } : {}) });
      seen.push(...page.items.map((i) => i.id));
      if (page.next_before === null) break;
      before = page.next_before;
    }
    assertEquals(seen, ids.slice(40 - count).reverse());
    const first = (await w.bob.api.quarantine({ limit: 1 })).items[0]!;
    assertEquals(first.type, "connection_request");
    assertEquals(first.complete, false);

    // Reject deletes the bytes; a redelivery of the same envelope is not held again.
    const bytes = held.totalBytes();
    const res = await w.bob.api.resolveQuarantine(first.id, false);
    assertEquals(res.resolution, "rejected");
    assertEquals(dbCount(w.bob, "SELECT count(*) AS n FROM quarantine WHERE id = ?", first.id), 0);
    assert(held.totalBytes() < bytes);
    assertEquals(held.countOpen(), count - 1);
    const again = await undecryptable(w.agents[0]!, "connection_request", "A".repeat(10));
    await deliver(0, { ...again, id: first.id });
    assertEquals(held.countOpen(), count - 1);
    await eventually(async () => (await w.bob.api.health()).counts.quarantined === count - 1);

    // Bad paging parameters are refused with the catalogue's code.
    const bad = await assertRejects(
      () => w.bob.api.request("GET", "/v1/quarantine", undefined, { limit: 0 }),
      ApiError,
    );
    assertEquals(bad.code, "validation_failed");
  } finally {
    await w.close();
  }
});

Deno.test("quarantine bounds: the migration clips what an older daemon held and keeps the rest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-qmig-" });
  const path = `${dir}/client.db`;
  try {
    const old = openDatabase(path, CLIENT_MIGRATIONS.slice(0, 2));
    const hold = (id: string, reason: string, envelope: string, resolution: string | null) =>
      run(
        old,
        `INSERT INTO quarantine (id, from_handle, reason, envelope, presented_key, created_at,
           resolution) VALUES (?, '@m/x', ?, ?, ?, ?, ?)`,
        id,
        reason,
        envelope,
        reason === "key_changed" ? '{"signing_public_key":"a","encryption_public_key":"b"}' : null,
        `2026-11-2${id.length % 10}T00:00:00.000Z`,
        resolution,
      );
    const huge = JSON.stringify({ type: "message", x: "x".repeat(1_000_000) });
    hold("msg_garbage", "decrypt_failed", huge, null);
    hold(
      "msg_rotated",
      "key_changed",
      JSON.stringify({ type: "message", x: "y".repeat(50_000) }),
      null,
    );
    hold("msg_rejected", "bad_signature", huge, "rejected");
    run(
      old,
      `INSERT INTO connections (agent, peer, state, permissions, created_at, updated_at)
       VALUES ('@b/w', '@m/x', 'connected', '{}', 't', 't')`,
    );
    old.close();

    const store = DaemonStore.open(path);
    try {
      const garbage = store.quarantine.open("msg_garbage")!;
      assertEquals([garbage.complete, garbage.envelope.length, garbage.type], [0, 4096, "message"]);
      assertEquals(garbage.size, huge.length);
      const rotated = store.quarantine.open("msg_rotated")!;
      assertEquals([rotated.complete, rotated.envelope.length > 50_000], [1, true]);
      assertEquals(store.quarantine.countOpen(), 2);
      assert(store.quarantine.has("msg_rejected"), "a rejected id is remembered");
      assertEquals(store.quarantine.open("msg_rejected"), undefined);
      assert(store.quarantine.totalBytes() < 60_000);
      assertEquals(store.connections.between("@b/w", "@m/x")?.state, "connected");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
