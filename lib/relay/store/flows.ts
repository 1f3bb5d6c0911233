/**
 * Every relay store operation, written once as a flow (see flow.ts): the statements it runs,
 * in order, and what it concludes from their results. The dialects only supply SQL and run
 * the flow (SQLite synchronously, PostgreSQL with awaits), in a transaction where marked.
 * @module
 */
import { fail, type Permissions } from "../../protocol/mod.ts";
import type { AcceptEffects, AgentRecord, EnvelopeRow, InviteRecord } from "../store.ts";
import { count, type Flow, row, rows } from "./flow.ts";
import {
  agentParams,
  inviteParams,
  receiptFor,
  redeemAdds,
  taskParams,
  toAgent,
  toClient,
  toDelivery,
  toInvite,
  toPermissions,
  toStats,
  toTask,
} from "./rules.ts";

/** A queued receipt: `body` lets a single-writer store's relay push it without reading it. */
export interface QueuedReceipt {
  client_id: string;
  seq: number;
  body: string;
}

/** Adds a client; `conflict` when the id is taken. */
export function* addClient(id: string, tokenHash: string, now: number): Flow<void> {
  if ((yield* count("clientAdd", id, tokenHash, now)) === 0) {
    throw fail("conflict", `client ${id} already exists`);
  }
}

/**
 * When each client was last seen, from what the relay still holds: its newest sent envelope,
 * delivery it acknowledged, or agent registration (ms since the epoch; absent: nothing on
 * record, e.g. after retention pruned an idle client's traffic).
 */
export function* clientsLastSeen() {
  const seen = new Map<string, number>();
  for (const r of yield* rows("clientLastSeen")) seen.set(String(r.client_id), Number(r.seen));
  return seen;
}

/** A client by id, or null. */
export function* getClient(id: string) {
  const r = yield* row("clientGet", id);
  return r ? toClient(r) : null;
}

/** Every client, by id. */
export function* listClients() {
  return (yield* rows("clientList")).map(toClient);
}

/** Revokes an active client; false when there is none. */
export function* revokeClient(id: string, now: number) {
  return (yield* count("clientRevoke", now, id)) > 0;
}

/** Replaces an active client's token hash; false when there is none. */
export function* setClientToken(id: string, tokenHash: string) {
  return (yield* count("clientSetToken", tokenHash, id)) > 0;
}

/** An agent by handle, or null. */
export function* getAgent(handle: string) {
  const r = yield* row("agentGet", handle);
  return r ? toAgent(r) : null;
}

/** Registers an agent, or updates its keys and profile (never its client). */
export function* putAgent(agent: AgentRecord): Flow<void> {
  yield* count("agentPut", ...agentParams(agent));
}

/** How many agents client `clientId` has registered (its cap: `maxAgentsPerClient`). */
export function* countClientAgents(clientId: string) {
  return Number(
    (yield* row("agentCountOfClient", `@${clientId}/`, `@${clientId}0`, clientId))?.n ?? 0,
  );
}

/** Public agents of active clients, by handle. */
export function* listPublicAgents(limit: number) {
  return (yield* rows("agentListPublic", limit)).map(toAgent);
}

/** Stores a new invite. */
export function* createInvite(invite: InviteRecord): Flow<void> {
  yield* count("inviteAdd", ...inviteParams(invite));
}

/** An invite by code, or null. */
export function* getInvite(code: string) {
  const r = yield* row("inviteGet", code);
  return r ? toInvite(r) : null;
}

/** Revokes an invite; false when it already was. */
export function* revokeInvite(code: string) {
  return (yield* count("inviteRevoke", code)) > 0;
}

/** In a transaction: counts a use and grants `clientId` contact with the invite's agent. */
export function* useInvite(code: string, clientId: string, now: number): Flow<void> {
  const r = yield* row("inviteLock", code);
  const invite = r ? toInvite(r) : null;
  const granted = invite !== null && (yield* row("grantGet", clientId, invite.agent)) !== undefined;
  if (!redeemAdds(invite, granted, now)) return;
  yield* count("inviteCountUse", code);
  yield* count("grantAdd", clientId, invite!.agent, now);
}

/** True when an invite let `clientId` contact `agent`. */
export function* hasGrant(clientId: string, agent: string) {
  return (yield* row("grantGet", clientId, agent)) !== undefined;
}

/** The permissions `sender` has toward `recipient`, or null when not connected. */
export function* getLink(sender: string, recipient: string) {
  const r = yield* row("linkGet", sender, recipient);
  return r ? toPermissions(r) : null;
}

/** Replaces a link's permissions; false when there is no link. */
export function* setLinkPermissions(sender: string, recipient: string, permissions: Permissions) {
  return (yield* count("linkSetPermissions", JSON.stringify(permissions), sender, recipient)) > 0;
}

/** True when any agent of `clientId` is connected to `agent`. */
export function* clientLinkedTo(clientId: string, agent: string) {
  return (yield* row("linkFromClient", agent, clientId)) !== undefined;
}

/** The pending connection request from → to, or null. */
export function* getPending(from: string, to: string) {
  const r = yield* row("pendingGet", from, to);
  return r ? { request_id: String(r.request_id) } : null;
}

/** True when `agent` has a pending request to any agent of `clientId`. */
export function* hasPendingTo(agent: string, clientId: string) {
  return (yield* row("pendingToClient", agent, clientId)) !== undefined;
}

/** The relay's view of a task, or null. */
export function* getTask(id: string) {
  const r = yield* row("taskGet", id);
  return r ? toTask(r) : null;
}

/** Open (non-terminal) tasks from `requester` to `worker`. */
export function* countOpenTasks(requester: string, worker: string) {
  return Number((yield* row("taskCountOpen", requester, worker))!.n);
}

/** True when an envelope with this id was accepted (and not yet pruned). */
export function* envelopeExists(id: string) {
  return (yield* row("envelopeExists", id)) !== undefined;
}

/**
 * In a transaction: the envelope, one delivery per recipient client, then the effects.
 * Throws `duplicate_envelope` for a known id.
 */
export function* acceptEnvelope(
  e: EnvelopeRow,
  recipientClients: string[],
  effects: AcceptEffects,
) {
  yield* insertEnvelope(e);
  return yield* queueEnvelope(e, recipientClients, effects);
}

/** Stores the envelope row; throws `duplicate_envelope` for a known id (the only id check). */
export function* insertEnvelope(e: EnvelopeRow): Flow<void> {
  const to = JSON.stringify(e.to);
  const added = yield* count(
    "envelopeAdd",
    e.id,
    e.sender_client,
    e.from,
    to,
    e.type,
    e.body,
    e.accepted_at,
  );
  if (added === 0) throw fail("duplicate_envelope");
}

/** After {@link insertEnvelope}, in its transaction: the deliveries, then the effects. */
export function* queueEnvelope(
  e: EnvelopeRow,
  recipientClients: string[],
  effects: AcceptEffects,
) {
  const queued: { client_id: string; seq: number }[] = [];
  for (const client_id of recipientClients) {
    const r = yield* row("deliveryAdd", client_id, e.id, e.accepted_at);
    queued.push({ client_id, seq: Number(r!.seq) });
  }
  yield* applyEffects(effects, e.accepted_at);
  return queued;
}

function* applyEffects(effects: AcceptEffects, now: number): Flow<void> {
  const { pending: p, answered, connect, task } = effects;
  if (p) yield* count("pendingPut", p.from, p.to, p.request_id, now);
  if (answered) yield* count("pendingDelete", answered.from, answered.to);
  if (connect) {
    const permissions = JSON.stringify(connect.permissions);
    yield* count("linkAdd", connect.a, connect.b, permissions, now);
    yield* count("linkAdd", connect.b, connect.a, permissions, now);
  }
  if (task) yield* count("taskPut", ...taskParams(task, now));
}

/** Pending deliveries of `clientId` after `afterSeq`, in order. */
export function* pendingDeliveries(clientId: string, afterSeq: number, limit: number) {
  return (yield* rows("deliveriesPending", clientId, afterSeq, limit)).map(toDelivery);
}

/** In a transaction: marks a pending delivery done; an envelope's sender gets `delivered`. */
export function* ackDelivery(clientId: string, seq: number, now: number): Flow<
  { acked: boolean; receipt?: QueuedReceipt; accepted_at?: number }
> {
  const done = yield* row("deliveryAck", now, seq, clientId);
  if (!done) return { acked: false };
  if (done.kind !== "envelope") return { acked: true };
  const envelopeId = String(done.envelope_id);
  const env = yield* row("envelopeForReceipt", envelopeId);
  if (!env) return { acked: true };
  const receipt = yield* queueReceipt(env, envelopeId, clientId, "delivered", now);
  return { acked: true, receipt, accepted_at: Number(env.accepted_at) };
}

function* queueReceipt(
  env: Record<string, unknown>,
  envelopeId: string,
  recipientClient: string,
  state: "delivered" | "failed",
  now: number,
  reason?: string,
): Flow<QueuedReceipt> {
  const { client_id, body } = receiptFor(env, envelopeId, recipientClient, state, now, reason);
  const r = yield* row("receiptAdd", client_id, envelopeId, body, now);
  return { client_id, seq: Number(r!.seq), body };
}

/** Counts a delivery attempt (for backoff). */
export function* noteAttempt(clientId: string, seq: number): Flow<void> {
  yield* count("deliveryNoteAttempt", seq, clientId);
}

/** In a transaction: fails deliveries pending since before `before`; senders get `failed`. */
export function* failExpired(before: number, now: number) {
  const expired = yield* rows("deliveriesExpire", now, before);
  const receipts: QueuedReceipt[] = [];
  for (const d of expired) {
    if (d.kind !== "envelope") continue;
    const envelopeId = String(d.envelope_id);
    const env = yield* row("envelopeForReceipt", envelopeId);
    if (!env) continue;
    const clientId = String(d.client_id);
    receipts.push(
      yield* queueReceipt(env, envelopeId, clientId, "failed", now, "retention_expired"),
    );
  }
  return receipts;
}

/** In a transaction: deletes finished deliveries and envelopes nobody waits for any more. */
export function* prune(before: number) {
  const deliveries = yield* count("pruneDeliveries", before);
  // Each client's newest ack ("last seen") goes as its delivered rows used to.
  yield* count("pruneAcks", before);
  const envelopes = yield* count("pruneEnvelopes", before);
  // Rate windows older than the previous window count for nothing (PostgreSQL only).
  yield* count("pruneRates", Date.now() - 180_000);
  yield* count("pruneGrants");
  return deliveries + envelopes;
}

/** Counts for /metrics and the status page. */
export function* stats() {
  return toStats((yield* row("stats"))!);
}

/** A relay setting (e.g. `public_url`), or null when never set. */
export function* getSetting(key: string) {
  const r = yield* row("settingGet", key);
  return r ? String(r.value) : null;
}

/** Sets a relay setting. */
export function* setSetting(key: string, value: string, now: number): Flow<void> {
  yield* count("settingPut", key, value, now);
}
