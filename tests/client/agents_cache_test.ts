/**
 * The agents, peers and connections tables keep the rows they read (committed_rows.ts): what
 * they answer must always be what is committed — a write is seen at once, a rolled-back one
 * never, and a row handed out cannot be changed under the next reader.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { DaemonStore, type StoredKeys } from "../../lib/client/store/mod.ts";

const KEYS: StoredKeys = {
  signing_private_key: "sk1",
  signing_public_key: "pk1",
  encryption_private_key: "ek1",
  encryption_public_key: "epk1",
  fingerprint: "fp1",
};

Deno.test("agents cache: writes are seen at once, rolled-back ones never", () => {
  const store = DaemonStore.open(":memory:");
  try {
    assertEquals(store.agents.get("@a/x"), undefined); // remembered as absent…
    store.agents.insert("@a/x", KEYS, "{}", false, "2026-01-01T00:00:00.000Z");
    assertEquals(store.agents.get("@a/x")?.signing_public_key, "pk1"); // …until a write
    store.agents.replaceKeys("@a/x", { ...KEYS, signing_public_key: "pk2" });
    assertEquals(store.agents.get("@a/x")?.signing_public_key, "pk2");
    assertEquals(store.agents.get("@a/x")?.registered, 0);
    store.agents.markRegistered("@a/x");
    assertEquals(store.agents.get("@a/x")?.registered, 1);

    // Read inside a transaction that rolls back: not kept.
    assertThrows(() =>
      store.transaction(() => {
        store.agents.insert("@a/y", KEYS, "{}", false, "2026-01-01T00:00:00.000Z");
        assert(store.agents.get("@a/y"));
        throw new Error("roll back");
      })
    );
    assertEquals(store.agents.get("@a/y"), undefined);

    // A caller changing its copy does not change the next caller's.
    const row = store.agents.get("@a/x")!;
    row.signing_public_key = "mutated";
    assertEquals(store.agents.get("@a/x")?.signing_public_key, "pk2");
  } finally {
    store.close();
  }
});

Deno.test("peers and connections caches: writes are seen at once, rolled-back ones never", () => {
  const store = DaemonStore.open(":memory:");
  const at = "2026-01-01T00:00:00.000Z";
  const pin = {
    handle: "@p/x",
    signing_public_key: "s1",
    encryption_public_key: "e1",
    fingerprint: "f1",
    profile: "{}",
    pinned_at: at,
  };
  const link = {
    agent: "@a/x",
    peer: "@p/x",
    state: "pending_out" as const,
    request_id: null,
    note: null,
    permissions: "{}",
    permissions_synced: 0,
    created_at: at,
    updated_at: at,
  };
  try {
    assertEquals(store.peers.get("@p/x"), undefined); // remembered as absent…
    store.peers.insertIfAbsent(pin);
    assertEquals(store.peers.get("@p/x")?.signing_public_key, "s1"); // …until a write
    store.peers.repin("@p/x", {
      signing_public_key: "s2",
      encryption_public_key: "e2",
      fingerprint: "f2",
    }, at);
    assertEquals(store.peers.get("@p/x")?.signing_public_key, "s2");

    assertEquals(store.connections.between("@a/x", "@p/x"), undefined);
    store.connections.upsert(link);
    assertEquals(store.connections.between("@a/x", "@p/x")?.state, "pending_out");
    store.connections.upsert({ ...link, state: "connected" });
    assert(store.connections.isConnected("@a/x", "@p/x"));
    store.connections.upsert({ ...link, state: "blocked" });
    assert(store.connections.isBlocked("@a/x", "@p/x"));
    store.connections.deleteBlocked("@a/x", "@p/x");
    assertEquals(store.connections.between("@a/x", "@p/x"), undefined);

    // Written and read inside a transaction that rolls back: not kept.
    assertThrows(() =>
      store.transaction(() => {
        store.connections.upsert({ ...link, state: "connected" });
        assert(store.connections.isConnected("@a/x", "@p/x"));
        throw new Error("roll back");
      })
    );
    assertEquals(store.connections.between("@a/x", "@p/x"), undefined);

    // A caller changing its copy does not change the next caller's.
    store.peers.get("@p/x")!.signing_public_key = "mutated";
    assertEquals(store.peers.get("@p/x")?.signing_public_key, "s2");
  } finally {
    store.close();
  }
});
