/** Envelopes held for the owner: a changed peer key or a forgery. The owner decides. */
import { type Envelope, fail, parseEnvelope } from "../protocol/mod.ts";
import type { QuarantineItemView, QuarantineResolution } from "../protocol/views.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import { applyVerified } from "./inbound_apply.ts";
import { quarantineItemView } from "./views.ts";

const log = logger("inbound");

/** Holds an envelope for the owner (`envelope` null: it did not even parse). */
export function quarantine(
  d: Daemon,
  envelope: Envelope | null,
  raw: unknown,
  reason: string,
  presentedKey?: string,
) {
  const id = envelope?.id ?? `raw_${crypto.randomUUID()}`;
  d.store.quarantine.insert({
    id,
    from_handle: envelope?.from ?? String((raw as { from?: unknown })?.from ?? "unknown"),
    reason,
    envelope: JSON.stringify(raw),
    presented_key: presentedKey ?? null,
    created_at: d.nowIso(),
  });
  d.events.emit("quarantine", { id, from: envelope?.from ?? null, reason });
  log.warn("envelope quarantined", { id, reason });
}

/** Unresolved quarantine items. */
export function listQuarantine(d: Daemon): QuarantineItemView[] {
  return d.store.quarantine.listOpen().map((r) =>
    quarantineItemView(r, d.peers.get(r.from_handle))
  );
}

/**
 * Resolves an item. Accepting a `key_changed` item re-pins the peer to the key the relay now
 * serves and applies every envelope held for that reason from that peer; other reasons can only
 * be rejected (a forgery stays a forgery).
 */
export async function releaseQuarantine(
  d: Daemon,
  id: string,
  accept: boolean,
): Promise<QuarantineResolution> {
  const row = d.store.quarantine.open(id);
  if (!row) throw fail("not_found", `no open quarantine item ${id}`);
  if (!accept) {
    d.store.quarantine.resolve(id, "rejected");
    d.events.emit("quarantine", { id, resolution: "rejected" });
    return { id, resolution: "rejected", applied: 0 };
  }
  if (row.reason !== "key_changed" || !row.presented_key) {
    throw fail("conflict", `a '${row.reason}' item can only be rejected`);
  }
  return await d.lock.run(async () => {
    const keys = JSON.parse(row.presented_key!) as {
      signing_public_key: string;
      encryption_public_key: string;
    };
    await d.peers.repin(row.from_handle, keys);
    let applied = 0;
    for (const item of d.store.quarantine.heldForKeyChange(row.from_handle)) {
      const env = parseEnvelope(JSON.parse(item.envelope));
      const locals = env.to.filter((h) => d.keyring.isLocal(h));
      await applyVerified(d, env, locals);
      d.store.quarantine.resolve(item.id, "accepted");
      applied++;
    }
    d.events.emit("quarantine", { id, resolution: "accepted", applied });
    return { id, resolution: "accepted", applied };
  });
}
