/**
 * The relay's checks on every envelope (design §7), in order; each refusal has its own code
 * and stores nothing. The relay sees headers only: it never opens a payload.
 */
import {
  applyTaskEvent,
  decodeBase64Url,
  DEFAULT_PERMISSIONS,
  type Envelope,
  fail,
  handleOwner,
  isTaskType,
  parseReceivedEnvelope,
  permissionFor,
  type Permissions,
  roleOf,
  verifyEnvelope,
} from "../protocol/mod.ts";
import { assignedWorker, assignEvent, isOffer, offerRole, openOffer } from "./offers.ts";
import { checkSender, senderAgent } from "./credentials.ts";
import type { AcceptEffects, AgentRecord, RelayStore, RoutingReads } from "./store.ts";

/** Where rate limits are counted: this process, or a store shared by all nodes. */
export interface RateCheck {
  /** Counts one use of each key if all are under their limits; else returns the key over. */
  takeAll(keys: [string, number][], now: number): string | null | Promise<string | null>;
}

/** Limits the pipeline needs. */
export interface AcceptLimits {
  maxEnvelopeBytes: number;
  clockSkewMs: number;
  /** Envelopes per minute per client, all types. */
  clientRatePerMinute: number;
  /** Connection requests per minute per sending agent. */
  connectionRequestsPerMinute: number;
  /** Connection requests per minute to one agent, from everyone together. */
  connectionRequestsPerRecipientPerMinute: number;
  /** Connection requests per minute from one client, all its agents together. */
  connectionRequestsPerClientPerMinute: number;
}

/**
 * Largest `connection_request` envelope: its payload is a note (≤ 2000), an invite code and
 * permissions, so a stranger's first contact cannot be a 2 MB write to someone's queue.
 */
export const CONNECTION_REQUEST_MAX_BYTES = 16_384;

/** The sending session. */
export interface SenderSession {
  clientId: string;
  deviceId: string;
  /** The token hash the session authenticated with (checked again at the accept). */
  tokenHash?: string;
}

/** A checked envelope, ready to store. */
export interface CheckedEnvelope {
  envelope: Envelope;
  text: string;
  recipientClients: string[];
  effects: AcceptEffects;
}

/** Relay-side bound on revisions: the real bound is in the encrypted payload (daemons check). */
const RELAY_MAX_REVISIONS = 100;

/** Checks an envelope's signature by its sender's public key (base64url); throws `bad_signature`. */
export type SignatureCheck = (envelope: Envelope, publicKey: string) => Promise<void>;

/** The signature check on the calling thread. */
const verifyHere: SignatureCheck = (envelope, publicKey) =>
  verifyEnvelope(envelope, decodeBase64Url(publicKey));

/**
 * Parses and checks an envelope up to and including its signature (no shared state read);
 * `verify` is where the signature is checked (the relay's Worker, verify_pool.ts).
 */
export async function checkSignedEnvelope(
  store: RelayStore,
  session: SenderSession,
  limits: AcceptLimits,
  raw: unknown,
  size: number,
  verify: SignatureCheck = verifyHere,
): Promise<{ envelope: Envelope; sender: AgentRecord }> {
  if (size > limits.maxEnvelopeBytes) {
    throw fail("envelope_too_large", `the limit is ${limits.maxEnvelopeBytes} bytes`);
  }
  const envelope = parseReceivedEnvelope(raw);
  if (envelope.type === "connection_request" && size > CONNECTION_REQUEST_MAX_BYTES) {
    throw fail(
      "envelope_too_large",
      `a connection_request is at most ${CONNECTION_REQUEST_MAX_BYTES} bytes`,
    );
  }
  if (handleOwner(envelope.from) !== session.clientId) throw fail("sender_not_owned");
  if (envelope.device_id !== session.deviceId) throw fail("device_mismatch");
  // A kept row may lag a change on another node: checkSender reads it again under the lock.
  const sender = senderAgent(
    await (store.keptAgent?.(envelope.from) ?? store.getAgent(envelope.from)),
    envelope.from,
    session.clientId,
  );
  try {
    await verify(envelope, sender.signing_public_key);
    return { envelope, sender };
  } catch (err) {
    // The kept key may predate a rotation this node has not heard of yet: read it, once.
    if (!store.keptAgent) throw err;
    const fresh = await store.getAgent(envelope.from);
    if (
      !fresh || fresh.client_id !== session.clientId ||
      fresh.signing_public_key === sender.signing_public_key
    ) throw err;
    await verify(envelope, fresh.signing_public_key);
    return { envelope, sender: fresh };
  }
}

/**
 * The stateful checks after the signature: replay, clock skew, recipients, connection and
 * permissions, task roles and transitions, rate limits. Must run under the relay's accept lock.
 * `replayChecked`: the caller already stored the envelope's id in this transaction (the insert
 * refuses a duplicate), so it is not looked up again. `signedWith`: the sender's key the
 * signature was checked with.
 */
export async function checkRouting(
  store: RoutingReads,
  session: SenderSession,
  limits: AcceptLimits,
  rates: RateCheck,
  envelope: Envelope,
  now: number,
  replayChecked = false,
  signedWith?: string,
): Promise<Omit<CheckedEnvelope, "text">> {
  // A replay is refused first: a daemon resending an envelope it sent before must learn that
  // it was stored, whatever the state its effects left (a pending request answered, a task).
  if (!replayChecked && await store.envelopeExists(envelope.id)) {
    throw fail("duplicate_envelope");
  }
  await checkSender(store, session, envelope, signedWith);
  if (Math.abs(now - Date.parse(envelope.created_at)) > limits.clockSkewMs) {
    throw fail(
      "clock_skew",
      `created_at must be within ${limits.clockSkewMs / 1000}s of the relay's clock`,
    );
  }
  const recipients: AgentRecord[] = [];
  for (const handle of envelope.to) {
    const agent = await store.getAgent(handle);
    const owner = agent && (await store.getClient(agent.client_id));
    // A private agent the sender may not see is answered like an unknown one: its existence
    // is not something a stranger can probe for.
    if (
      !agent || !owner || owner.revoked_at !== null ||
      !(await visibleTo(store, session.clientId, agent))
    ) {
      throw fail("unknown_recipient", `${handle} is not registered on this relay`);
    }
    recipients.push(agent);
  }

  const effects: AcceptEffects = {};
  let permissions: Permissions | null = null;
  // Each recipient's link has its own rate: [key, limit] per recipient.
  const linkRates: [string, number][] = [];
  const from = envelope.from;
  switch (envelope.type) {
    case "connection_request": {
      // Visibility (checked above) is what lets a stranger ask: public, an invite, a link.
      const to = oneRecipient(envelope);
      effects.pending = { from, to, request_id: envelope.id };
      break;
    }
    case "connection_accept":
    case "connection_decline": {
      const to = oneRecipient(envelope);
      const pending = await store.getPending(to, from);
      if (!pending || envelope.reply_to !== pending.request_id) {
        throw fail(
          "connection_not_pending",
          `reply_to must name the pending connection_request from ${to} to ${from}`,
        );
      }
      effects.answered = { from: to, to: from };
      if (envelope.type === "connection_accept") {
        effects.connect = { a: from, b: to, permissions: { ...DEFAULT_PERMISSIONS } };
      }
      break;
    }
    default: {
      for (const handle of envelope.to) {
        const link = await store.getLink(from, handle);
        if (!link) throw fail("not_connected", `${from} has no connection to ${handle}`);
        const flag = permissionFor(envelope.type);
        if (flag && link[flag] === false) {
          throw fail(
            "permission_denied",
            `${handle} does not accept ${envelope.type} from ${from}`,
          );
        }
        permissions = link;
        linkRates.push([`link:${from}>${handle}`, link.max_rate_per_minute]);
      }
    }
  }

  if (isTaskType(envelope.type)) effects.task = await checkTask(store, envelope, permissions!);

  // Rate limits last, so only otherwise-acceptable envelopes consume the budget.
  const keys: [string, number][] = [[`client:${session.clientId}`, limits.clientRatePerMinute]];
  if (envelope.type === "connection_request") {
    keys.push(
      [`connreq:${from}`, limits.connectionRequestsPerMinute],
      [`connreq-to:${envelope.to[0]}`, limits.connectionRequestsPerRecipientPerMinute],
      [`connreq-client:${session.clientId}`, limits.connectionRequestsPerClientPerMinute],
    );
  } else {
    keys.push(...linkRates);
  }
  const over = await rates.takeAll(keys, now);
  if (over !== null) {
    const limit = keys.find(([k]) => k === over)![1];
    throw fail("rate_limited", `limit ${limit} per minute (${over.split(":")[0]})`);
  }

  const recipientClients = [...new Set(recipients.map((r) => r.client_id))];
  return { envelope, recipientClients, effects };
}

/**
 * Whether `clientId` may see `agent` (HTTP look-ups and envelope routing share this rule):
 * public agents, its own, agents it is connected to, has an invite for, or that asked it.
 */
export async function visibleTo(
  store: RoutingReads,
  clientId: string | null,
  agent: AgentRecord,
): Promise<boolean> {
  if (agent.public) return true;
  if (clientId === null) return false;
  return agent.client_id === clientId ||
    await store.clientLinkedTo(clientId, agent.handle) ||
    await store.hasGrant(clientId, agent.handle) ||
    await store.hasPendingTo(agent.handle, clientId);
}

/** What an envelope's checks read and write (lock keys): its sender/recipient pairs, its task. */
export function lockKeys(
  envelope: { from: string; to: string[]; task_id?: string | undefined },
): string[] {
  const keys = envelope.to.map((to) => [envelope.from, to].sort().join("|"));
  if (envelope.task_id) keys.push(envelope.task_id);
  return keys;
}

function oneRecipient(envelope: Envelope): string {
  if (envelope.to.length !== 1) {
    throw fail("invalid_envelope", `${envelope.type} has one recipient`);
  }
  return envelope.to[0]!;
}

async function checkTask(store: RoutingReads, envelope: Envelope, permissions: Permissions) {
  const taskId = envelope.task_id!;
  const to = envelope.to[0]!;
  const task = await store.getTask(taskId);
  if (envelope.type === "task_request") {
    if (task) throw fail("illegal_transition", `task ${taskId} already exists`);
    if (isOffer(envelope)) return openOffer(envelope, RELAY_MAX_REVISIONS);
    const open = await store.countOpenTasks(envelope.from, to);
    if (open >= permissions.max_open_tasks) {
      throw fail(
        "too_many_open_tasks",
        `${to} allows ${permissions.max_open_tasks} open tasks from ${envelope.from}`,
      );
    }
    const result = applyTaskEvent(null, {
      id: envelope.id,
      type: "task_request",
      role: "requester",
      at: envelope.created_at,
      max_revisions: RELAY_MAX_REVISIONS,
    });
    if (!result.ok) throw result.error;
    return { id: taskId, requester: envelope.from, worker: to, snapshot: result.task };
  }
  if (!task) throw fail("task_not_found", `no task_request for ${taskId} passed this relay`);
  const offered = offerRole(task, envelope);
  const role = offered ?? roleOf(task, envelope.from);
  const other = role === "requester" ? task.worker : task.requester;
  if (!role || (!offered && to !== other)) {
    throw fail("task_role", `${envelope.from} is not a party of ${taskId}`);
  }
  const result = applyTaskEvent(
    task.snapshot,
    {
      id: envelope.id,
      type: envelope.type as Exclude<Envelope["type"], "task_request">,
      role,
      at: envelope.created_at,
      // The version is in the encrypted payload; the relay counts versions itself.
      version: envelope.type === "artifact_submit" ? task.snapshot.artifact_version + 1 : undefined,
      ...assignEvent(task, envelope),
    } as Parameters<typeof applyTaskEvent>[1],
  );
  if (!result.ok) throw result.error;
  return { ...task, worker: assignedWorker(task, envelope), snapshot: result.task };
}
