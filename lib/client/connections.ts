/**
 * Connections between a local agent and a peer: request, answer, permissions (synced to the
 * relay), and the inbound and refused sides of the handshake. Invite links: invites.ts.
 */
import {
  DEFAULT_PERMISSIONS,
  type Envelope,
  fail,
  type Permissions,
  type PermissionsPatch,
  withDefaults,
} from "../protocol/mod.ts";
import type { ConnectionView } from "../protocol/views.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import { openInvite } from "./invites.ts";
import type { ConnectionRow } from "./store/mod.ts";
import { connectionView } from "./views.ts";

const log = logger("connections");

/** The connection between `agent` and `peer` as the API shows it. */
function viewOf(d: Daemon, agent: string, peer: string): ConnectionView {
  const row = d.store.connections.between(agent, peer)!;
  return connectionView(row, d.peers.get(row.peer));
}

/** Connections, most recently changed first (optionally of one local agent). */
export function listConnections(d: Daemon, agent?: string): ConnectionView[] {
  return d.store.connections.list(agent).map((r) => ({
    ...connectionView(r, d.peers.get(r.peer)),
    ...d.presence.get(r.peer),
  }));
}

function upsert(d: Daemon, agent: string, peer: string, state: ConnectionRow["state"], fields: {
  request_id?: string | null;
  note?: string | null;
  permissions?: Permissions;
  synced?: boolean;
}) {
  const now = d.nowIso();
  const existing = d.store.connections.between(agent, peer);
  const permissions = fields.permissions ??
    (existing ? JSON.parse(existing.permissions) : { ...DEFAULT_PERMISSIONS });
  d.store.connections.upsert({
    agent,
    peer,
    state,
    request_id: fields.request_id !== undefined ? fields.request_id : existing?.request_id ?? null,
    note: fields.note !== undefined ? fields.note : existing?.note ?? null,
    permissions: JSON.stringify(permissions),
    permissions_synced: fields.synced === false
      ? 0
      : existing && fields.synced === undefined
      ? existing.permissions_synced
      : 1,
    created_at: existing?.created_at ?? now,
    updated_at: now,
  });
}

/** Sends a connection request from a local agent, by handle or by invite. */
export async function requestConnection(d: Daemon, input: {
  from: string;
  to?: string | undefined;
  invite?: string | undefined;
  note?: string | undefined;
  permissions?: PermissionsPatch | undefined;
}) {
  d.keyring.require(input.from);
  let to = input.to;
  let invite: string | undefined;
  let checked: { fingerprint: string; fingerprint_verified: boolean } | undefined;
  if (input.invite) {
    const opened = await openInvite(d, input.invite);
    checked = {
      fingerprint: opened.fingerprint,
      fingerprint_verified: opened.fingerprint_verified,
    };
    if (to && to !== opened.agent) {
      throw fail("validation_failed", `the invite is for ${opened.agent}, not ${to}`);
    }
    to = opened.agent;
    invite = opened.code;
  }
  if (!to) throw fail("validation_failed", "give `to` (a handle) or `invite`");
  if (to === input.from) throw fail("validation_failed", "an agent cannot connect to itself");
  await d.peers.ensure(to);
  const peer = to;
  return await d.lock.run(async () => {
    const existing = d.store.connections.between(input.from, peer);
    if (existing?.state === "blocked") {
      throw fail("conflict", `${input.from} blocked ${peer}; unblock it first`);
    }
    if (existing?.state === "connected") {
      return { connection: connectionView(existing, d.peers.get(peer)), message: null };
    }
    const payload: Record<string, unknown> = {};
    if (input.note) payload.note = input.note;
    if (invite) payload.invite = invite;
    if (input.permissions) payload.permissions = input.permissions;
    const sent = await d.outbox.send({
      from: input.from,
      to: [peer],
      type: "connection_request",
      payload,
      effects: (id) =>
        upsert(d, input.from, peer, "pending_out", {
          request_id: id,
          note: input.note ?? null,
          permissions: withDefaults(input.permissions),
          synced: false,
        }),
    });
    d.events.emit("connection", { agent: input.from, peer, state: "pending_out" }, input.from);
    return {
      connection: viewOf(d, input.from, peer),
      message: { id: sent.id, state: "queued" },
      // What the invite link vouched for (design §4): the CLI warns when it vouched for nothing.
      ...(checked ? { invite: checked } : {}),
    };
  });
}

/** Answers a pending inbound request. */
export async function answerConnection(
  d: Daemon,
  peer: string,
  input: {
    agent?: string | undefined;
    accept: boolean;
    permissions?: PermissionsPatch | undefined;
    reason?: string | undefined;
  },
) {
  return await d.lock.run(async () => {
    const candidates = d.store.connections.pendingFrom(peer);
    const agent = input.agent ?? (candidates.length === 1 ? candidates[0]! : undefined);
    if (!agent) {
      throw fail(
        "connection_not_pending",
        `no single pending request from ${peer}; name the agent`,
      );
    }
    const row = d.store.connections.between(agent, peer);
    if (!row || row.state !== "pending_in" || !row.request_id) {
      throw fail("connection_not_pending", `no pending request from ${peer} to ${agent}`);
    }
    const permissions = withDefaults({ ...JSON.parse(row.permissions), ...input.permissions });
    const type = input.accept ? "connection_accept" : "connection_decline";
    const payload: Record<string, unknown> = { request_id: row.request_id };
    if (input.accept && input.permissions) payload.permissions = input.permissions;
    if (!input.accept && input.reason) payload.reason = input.reason;
    const sent = await d.outbox.send({
      from: agent,
      to: [peer],
      type,
      reply_to: row.request_id,
      payload,
      effects: () =>
        upsert(d, agent, peer, input.accept ? "connected" : "declined", {
          permissions,
          synced: !input.accept,
        }),
    });
    d.events.emit(
      "connection",
      { agent, peer, state: input.accept ? "connected" : "declined" },
      agent,
    );
    // The request's `delivered` receipt waited for this answer (store/messages.ts owed).
    d.inbound.receipts.schedule();
    return {
      connection: viewOf(d, agent, peer),
      message: { id: sent.id, state: "queued" },
    };
  });
}

/** The owner edits what `peer` may send to `agent`; the relay is told too. */
export async function updatePermissions(
  d: Daemon,
  peer: string,
  agent: string,
  patch: PermissionsPatch,
) {
  const row = d.store.connections.between(agent, peer);
  if (!row) throw fail("not_connected", `${agent} has no connection with ${peer}`);
  if (row.state === "blocked") throw fail("conflict", `${agent} blocked ${peer}; unblock it first`);
  const permissions = withDefaults({ ...JSON.parse(row.permissions), ...patch });
  upsert(d, agent, peer, row.state, { permissions, synced: false });
  d.events.emit("connection", { agent, peer, state: row.state, permissions }, agent);
  if (row.state === "connected") await syncPermissions(d).catch(() => {});
  return viewOf(d, agent, peer);
}

/** Pushes permissions the relay has not seen yet (after reconnects, accepts and edits). */
export async function syncPermissions(d: Daemon) {
  if (!d.relay) return;
  for (const row of d.store.connections.unsynced()) {
    try {
      await d.relay.setPermissions(row.agent, row.peer, JSON.parse(row.permissions));
      d.store.connections.markSynced(row.agent, row.peer, row.permissions);
    } catch (err) {
      // A blocked peer the relay no longer connects to us: nothing left to take away there.
      if (row.state === "blocked" && (err as { code?: string }).code === "not_connected") {
        d.store.connections.markSynced(row.agent, row.peer, row.permissions);
        continue;
      }
      log.warn("permissions not synced yet", { agent: row.agent, peer: row.peer, err });
    }
  }
}

/**
 * Applies an inbound connection envelope inside the caller's transaction; returns false when
 * it answers nothing we asked.
 */
export function applyInboundConnection(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
): boolean {
  const peer = envelope.from;
  const row = d.store.connections.between(local, peer);
  if (envelope.type === "connection_request") {
    if (row?.state === "connected") {
      upsert(d, local, peer, "connected", { request_id: envelope.id });
      return true;
    }
    upsert(d, local, peer, "pending_in", {
      request_id: envelope.id,
      note: (payload.note as string | undefined) ?? null,
    });
    return true;
  }
  if (!row || row.state !== "pending_out" || row.request_id !== envelope.reply_to) return false;
  upsert(d, local, peer, envelope.type === "connection_accept" ? "connected" : "declined", {});
  return true;
}

/** After the relay refused a connection envelope of ours: put the row back. */
export function revertRefusedConnection(
  d: Daemon,
  envelope: { type: string; from: string; to: string[] },
) {
  const peer = envelope.to[0]!;
  if (envelope.type === "connection_request") {
    d.store.connections.deletePendingOut(envelope.from, peer);
  } else if (envelope.type === "connection_accept" || envelope.type === "connection_decline") {
    d.store.connections.reopenPendingIn(envelope.from, peer);
  }
  d.events.emit("connection", { agent: envelope.from, peer, reverted: true }, envelope.from);
}
