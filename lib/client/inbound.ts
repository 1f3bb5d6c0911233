/**
 * The inbound pipeline (design §7, issue: daemon): verify against the pinned key → open →
 * validate → apply (connections, task state machine, permissions, gates) → store → event.
 * Deliveries that cannot be applied are recorded, never silently dropped; anything held for
 * the owner goes to quarantine.
 */
import {
  decodeBase64Url,
  type Envelope,
  isTaskType,
  openEnvelope,
  parseEnvelope,
  permissionFor,
  type Permissions,
  type RelayReceipt,
  TaskferryError,
  verifyEnvelope,
} from "../protocol/mod.ts";
import { get, run, transaction } from "../store/mod.ts";
import { logger } from "../log.ts";
import {
  applyInboundConnection,
  connectionRow,
  revertRefusedConnection,
  syncPermissions,
} from "./connections.ts";
import type { Daemon } from "./daemon.ts";
import { applyInboundTask, revertRefusedTaskEvent } from "./tasks.ts";
import { nowIso } from "./util.ts";

const log = logger("inbound");

/** Wires the inbound pipeline into `d`. */
export function attachInbound(d: Daemon) {
  d.inbound = {
    deliver: (_seq, raw) => d.lock.run(() => deliver(d, raw)),
    receipt: (r) => d.lock.run(() => Promise.resolve(relayReceipt(d, r))),
    accepted: (id) => {
      const row = get<{ type: string }>(
        d.db,
        "SELECT type FROM messages WHERE id = ? AND direction = 'out'",
        id,
      );
      if (row?.type === "connection_accept") syncPermissions(d).catch(() => {});
    },
    refused: (id, code, message) => {
      const row = get<{ envelope: string }>(
        d.db,
        "SELECT envelope FROM messages WHERE id = ? AND direction = 'out'",
        id,
      );
      if (!row) return;
      const env = JSON.parse(row.envelope) as Envelope;
      if (isTaskType(env.type)) revertRefusedTaskEvent(d, id, `${code}: ${message}`);
      if (env.type.startsWith("connection_")) revertRefusedConnection(d, env);
    },
  };
}

function quarantine(
  d: Daemon,
  envelope: Envelope | null,
  raw: unknown,
  reason: string,
  presentedKey?: string,
) {
  const id = envelope?.id ?? `raw_${crypto.randomUUID()}`;
  run(
    d.db,
    `INSERT INTO quarantine (id, from_handle, reason, envelope, presented_key, created_at)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    id,
    envelope?.from ?? String((raw as { from?: unknown })?.from ?? "unknown"),
    reason,
    JSON.stringify(raw),
    presentedKey ?? null,
    nowIso(),
  );
  d.events.emit("quarantine", { id, from: envelope?.from ?? null, reason });
  log.warn("envelope quarantined", { id, reason });
}

async function deliver(d: Daemon, raw: unknown): Promise<void> {
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(raw);
  } catch (err) {
    quarantine(d, null, raw, (err as TaskferryError).code ?? "invalid_envelope");
    return;
  }
  if (get(d.db, "SELECT 1 FROM messages WHERE id = ? AND direction = 'in' LIMIT 1", envelope.id)) {
    return;
  }
  if (get(d.db, "SELECT 1 FROM quarantine WHERE id = ?", envelope.id)) return;
  const locals = envelope.to.filter((h) => d.agentRow(h));
  if (locals.length === 0) {
    log.warn("delivery for no local agent", { id: envelope.id, to: envelope.to });
    return;
  }

  // The sender's pinned key; first contact pins what the relay serves.
  let peer;
  try {
    peer = await d.ensurePeer(envelope.from);
  } catch (err) {
    if (err instanceof TaskferryError && err.code === "unknown_agent") {
      quarantine(d, envelope, raw, "unknown_sender");
      return;
    }
    throw err; // relay unreachable: leave unacked, it comes again
  }
  try {
    await verifyEnvelope(envelope, decodeBase64Url(peer.signing_public_key));
  } catch {
    // Not the pinned key. Does the relay now serve another key that signed it?
    const current = await d.relay?.agent(envelope.from).catch(() => null);
    if (current && current.signing_public_key !== peer.signing_public_key) {
      const verifiesWithNew = await verifyEnvelope(
        envelope,
        decodeBase64Url(current.signing_public_key),
      )
        .then(() => true, () => false);
      if (verifiesWithNew) {
        quarantine(
          d,
          envelope,
          raw,
          "key_changed",
          JSON.stringify({
            signing_public_key: current.signing_public_key,
            encryption_public_key: current.encryption_public_key,
          }),
        );
        return;
      }
    }
    quarantine(d, envelope, raw, "bad_signature");
    return;
  }
  await applyVerified(d, envelope, locals);
}

/** Opens and applies a verified envelope for each local recipient (also used on release). */
export async function applyVerified(d: Daemon, envelope: Envelope, locals: string[]) {
  const peer = await d.ensurePeer(envelope.from);
  for (const local of locals) {
    const keys = await d.keysOf(local);
    let payload: Record<string, unknown>;
    try {
      payload = await openEnvelope(envelope, local, {
        encryptionPrivateKey: keys.encryption.privateKey,
        encryptionPublicKey: keys.encryption.publicKey,
      }, decodeBase64Url(peer.signing_public_key)) as Record<string, unknown>;
    } catch (err) {
      quarantine(
        d,
        envelope,
        envelope,
        err instanceof TaskferryError ? err.code : "decrypt_failed",
      );
      continue;
    }
    applyOne(d, envelope, payload, local);
  }
}

function applyOne(d: Daemon, envelope: Envelope, payload: Record<string, unknown>, local: string) {
  let visible = true;
  let rejected: { code: string; message: string } | null = null;
  let afterCommit: (() => void) | null = null;
  transaction(d.db, () => {
    if (envelope.type === "receipt") {
      applyReceipt(d, envelope, payload, local);
      d.insertMessage(envelope, local, "in", payload, "received");
      visible = false;
      return;
    }
    if (envelope.type.startsWith("connection_")) {
      if (!applyInboundConnection(d, envelope, payload, local)) {
        rejected = { code: "connection_not_pending", message: "answers no request of ours" };
      } else if (envelope.type === "connection_accept") {
        afterCommit = () => syncPermissions(d).catch(() => {});
      }
    } else {
      const permissions = inboundPermissions(d, local, envelope.from);
      const flag = permissionFor(envelope.type);
      if (!permissions) {
        rejected = { code: "not_connected", message: `no connection with ${envelope.from}` };
      } else if (flag && !permissions[flag]) {
        rejected = {
          code: "permission_denied",
          message: `${envelope.type} not allowed from ${envelope.from}`,
        };
      } else if (isTaskType(envelope.type)) {
        const gate = envelope.type === "task_request" && permissions.require_human_gate;
        const result = applyInboundTask(d, envelope, payload, local, gate);
        if (!result.ok) rejected = { code: result.code, message: result.message };
        else visible = result.visible;
      }
    }
    if (rejected) {
      d.insertMessage(
        envelope,
        local,
        "in",
        payload,
        "rejected",
        `${rejected.code}: ${rejected.message}`,
      );
      return;
    }
    d.insertMessage(envelope, local, "in", payload, "received");
    if (visible) {
      run(
        d.db,
        "INSERT INTO inbox (agent, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        local,
        envelope.id,
      );
    }
  });
  if (rejected) {
    log.warn("inbound envelope rejected", { id: envelope.id, ...(rejected as { code: string }) });
    return;
  }
  (afterCommit as (() => void) | null)?.();
  if (envelope.type.startsWith("connection_")) {
    d.events.emit("connection", { agent: local, peer: envelope.from, type: envelope.type }, local);
  }
  if (envelope.task_id) d.events.emit("task", { id: envelope.task_id, type: envelope.type }, local);
  if (visible) {
    d.events.emit("inbox", { id: envelope.id, type: envelope.type, from: envelope.from }, local);
  }
}

/** What `peer` may send to `local` (null when not connected). */
function inboundPermissions(d: Daemon, local: string, peer: string): Permissions | null {
  const row = connectionRow(d, local, peer);
  if (row?.state !== "connected") return null;
  return JSON.parse(row.permissions) as Permissions;
}

function applyReceipt(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
) {
  const original = get<{ to_handles: string }>(
    d.db,
    "SELECT to_handles FROM messages WHERE id = ? AND agent = ? AND direction = 'out'",
    payload.message_id as string,
    local,
  );
  // Only a recipient of our message may report on it.
  if (!original || !(JSON.parse(original.to_handles) as string[]).includes(envelope.from)) return;
  d.advanceOutState(
    payload.message_id as string,
    payload.state as string,
    payload.reason as string | undefined,
  );
}

function relayReceipt(d: Daemon, r: RelayReceipt) {
  d.advanceOutState(r.id, r.state, r.reason);
}
