/** Envelopes held for the owner: a changed peer key or a forgery. The owner decides. */
import {
  decodeBase64Url,
  type Envelope,
  fail,
  fingerprint,
  parseEnvelope,
} from "../protocol/mod.ts";
import { all, get, run } from "../store/mod.ts";
import type { Daemon } from "./daemon.ts";
import { applyVerified } from "./inbound.ts";

interface QuarantineRow {
  id: string;
  from_handle: string;
  reason: string;
  envelope: string;
  presented_key: string | null;
  created_at: string;
  resolution: string | null;
}

/** Unresolved quarantine items. */
export function listQuarantine(d: Daemon) {
  return all<QuarantineRow>(
    d.db,
    "SELECT * FROM quarantine WHERE resolution IS NULL ORDER BY created_at",
  )
    .map((r) => {
      const env = JSON.parse(r.envelope) as Partial<Envelope>;
      const peer = d.peer(r.from_handle);
      return {
        id: r.id,
        from: r.from_handle,
        reason: r.reason,
        type: env.type ?? null,
        created_at: r.created_at,
        pinned_fingerprint: peer?.fingerprint ?? null,
        presented_key: r.presented_key ? JSON.parse(r.presented_key) : null,
      };
    });
}

/**
 * Resolves an item. Accepting a `key_changed` item re-pins the peer to the key the relay now
 * serves and applies every envelope held for that reason from that peer; other reasons can only
 * be rejected (a forgery stays a forgery).
 */
export async function releaseQuarantine(d: Daemon, id: string, accept: boolean) {
  const row = get<QuarantineRow>(
    d.db,
    "SELECT * FROM quarantine WHERE id = ? AND resolution IS NULL",
    id,
  );
  if (!row) throw fail("not_found", `no open quarantine item ${id}`);
  if (!accept) {
    run(d.db, "UPDATE quarantine SET resolution = 'rejected' WHERE id = ?", id);
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
    d.repinPeer(row.from_handle, {
      ...keys,
      fingerprint: await fingerprint({
        signing: decodeBase64Url(keys.signing_public_key),
        encryption: decodeBase64Url(keys.encryption_public_key),
      }),
    });
    const held = all<QuarantineRow>(
      d.db,
      "SELECT * FROM quarantine WHERE from_handle = ? AND reason = 'key_changed' AND resolution IS NULL ORDER BY created_at",
      row.from_handle,
    );
    let applied = 0;
    for (const item of held) {
      const env = parseEnvelope(JSON.parse(item.envelope));
      const locals = env.to.filter((h) => d.agentRow(h));
      await applyVerified(d, env, locals);
      run(d.db, "UPDATE quarantine SET resolution = 'accepted' WHERE id = ?", item.id);
      applied++;
    }
    d.events.emit("quarantine", { id, resolution: "accepted", applied });
    return { id, resolution: "accepted", applied };
  });
}
