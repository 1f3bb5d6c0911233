/**
 * Envelopes held for the owner: a changed peer key or a forgery. The owner decides.
 *
 * Anyone who can reach one of our agents can make us hold something, so what is held is
 * bounded (docs/security.md §2.3): metadata (sender, reason, type, size: each clipped) plus the
 * raw envelope — whole only for a `key_changed` item of at most a quarter of the cap (the only
 * reason that can be accepted, which re-verifies and applies it), else its first 4 KB for the
 * owner to look at. The table as a whole stays within `quarantineMaxBytes` (16 MiB by
 * default), evicting what can never be accepted first, oldest first. Reject deletes.
 */
import { type Envelope, fail, parseEnvelope } from "../protocol/mod.ts";
import type { QuarantineItemView, QuarantineResolution } from "../protocol/views.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import { applyVerified } from "./inbound_apply.ts";
import { quarantineItemView } from "./views.ts";

const log = logger("inbound");

/** How much of an envelope that can never be accepted is kept for the owner to look at. */
export const QUARANTINE_PREFIX_CHARS = 4096;
/** What each item counts against the cap besides its envelope (row, index entries, metadata). */
const ROW_OVERHEAD_BYTES = 256;
/** Longest page `GET /v1/quarantine` answers. */
export const QUARANTINE_MAX_PAGE = 500;

const encoder = new TextEncoder();

/** Holds an envelope for the owner (`envelope` null: it did not even parse). */
export function quarantine(
  d: Daemon,
  envelope: Envelope | null,
  raw: unknown,
  reason: string,
  presentedKey?: string,
) {
  const id = envelope?.id ?? `raw_${crypto.randomUUID()}`;
  const text = JSON.stringify(raw) ?? "null";
  const size = encoder.encode(text).length;
  const whole = reason === "key_changed" && presentedKey !== undefined &&
    size <= d.quarantineMaxBytes / 4;
  const kept = whole ? text : text.slice(0, QUARANTINE_PREFIX_CHARS);
  const claimed = envelope?.from ?? (raw as { from?: unknown } | null)?.from;
  const type = envelope?.type ?? (raw as { type?: unknown } | null)?.type;
  const evicted = d.store.quarantine.insert({
    id,
    from_handle: typeof claimed === "string" ? claimed.slice(0, 128) : "unknown",
    reason: reason.slice(0, 64),
    type: typeof type === "string" ? type.slice(0, 32) : null,
    size,
    complete: whole || kept.length === text.length ? 1 : 0,
    envelope: kept,
    presented_key: presentedKey ?? null,
    stored_bytes: ROW_OVERHEAD_BYTES + (whole ? size : encoder.encode(kept).length),
    created_at: d.nowIso(),
  }, d.quarantineMaxBytes);
  d.events.emit("quarantine", { id, from: envelope?.from ?? null, reason });
  log.warn("envelope quarantined", { id, reason, size, ...(evicted ? { evicted } : {}) });
}

/** One page of held items, newest first; `next_before` pages on (null: no more). */
export function listQuarantine(
  d: Daemon,
  page: { limit?: number | undefined; before?: number | undefined } = {},
): { items: QuarantineItemView[]; next_before: number | null } {
  const limit = Math.min(Math.max(page.limit ?? 100, 1), QUARANTINE_MAX_PAGE);
  const rows = d.store.quarantine.page(limit, page.before);
  const pins = new Map<string, string | null>();
  const items = rows.map((r) => {
    if (!pins.has(r.from_handle)) {
      pins.set(r.from_handle, d.peers.get(r.from_handle)?.fingerprint ?? null);
    }
    return quarantineItemView(r, pins.get(r.from_handle) ?? null);
  });
  return {
    items,
    next_before: rows.length === limit ? rows[rows.length - 1]!.seq : null,
  };
}

/**
 * Resolves an item. Accepting a `key_changed` item re-pins the peer to the key the relay now
 * serves and applies every envelope held for that reason from that peer (those kept only in
 * part are dropped and counted); other reasons can only be rejected (a forgery stays a
 * forgery). Both delete what was held.
 */
export async function releaseQuarantine(
  d: Daemon,
  id: string,
  accept: boolean,
): Promise<QuarantineResolution> {
  const row = d.store.quarantine.open(id);
  if (!row) throw fail("not_found", `no open quarantine item ${id}`);
  if (!accept) {
    d.store.quarantine.reject(id, d.nowIso());
    d.events.emit("quarantine", { id, resolution: "rejected" });
    return { id, resolution: "rejected", applied: 0, dropped: 0 };
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
    let dropped = 0;
    for (const item of d.store.quarantine.heldForKeyChange(row.from_handle)) {
      if (item.complete !== 1) {
        d.store.quarantine.reject(item.id, d.nowIso());
        dropped++;
        continue;
      }
      const env = parseEnvelope(JSON.parse(item.envelope));
      const locals = env.to.filter((h) => d.keyring.isLocal(h));
      await applyVerified(d, env, locals);
      d.store.quarantine.remove(item.id);
      applied++;
    }
    d.events.emit("quarantine", { id, resolution: "accepted", applied, dropped });
    return { id, resolution: "accepted", applied, dropped };
  });
}
