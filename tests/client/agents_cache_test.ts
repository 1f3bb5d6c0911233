/**
 * The agents table keeps the rows it read (lib/client/store/agents.ts): what it answers must
 * always be what is committed — a write is seen at once, a rolled-back one never, and a row
 * handed out cannot be changed under the next reader.
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
