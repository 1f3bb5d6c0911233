/**
 * The relay store interface (design §9). Async so that a PostgreSQL implementation can plug in
 * without touching routing code. Both implementations (sqlite_store.ts, pg_store.ts) share
 * their logic (store/sql_store.ts, store/flows.ts, store/rules.ts) and differ only in SQL.
 */
import type { Permissions, TaskSnapshot } from "../protocol/mod.ts";

/** An account: a relay client and its namespace. */
export interface ClientRecord {
  id: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
}

/** An agent's public profile. */
export interface AgentProfile {
  display_name?: string | undefined;
  description?: string | undefined;
  capabilities?: string[] | undefined;
}

/** A registered agent. */
export interface AgentRecord {
  handle: string;
  client_id: string;
  signing_public_key: string;
  encryption_public_key: string;
  profile: AgentProfile;
  public: boolean;
  created_at: number;
  updated_at: number;
}

/** An invite code for a (possibly private) agent. */
export interface InviteRecord {
  code: string;
  agent: string;
  client_id: string;
  created_at: number;
  expires_at: number;
  revoked: boolean;
  uses: number;
  max_uses: number | null;
}

/** The relay's view of a task: parties and header-visible state, never content. */
export interface RelayTask {
  id: string;
  requester: string;
  worker: string;
  snapshot: TaskSnapshot;
}

/** The reads the routing checks make (accept.ts); grouped accepts answer them from facts. */
export type RoutingReads = Pick<
  RelayStore,
  | "envelopeExists"
  | "getAgent"
  | "getClient"
  | "clientLinkedTo"
  | "hasGrant"
  | "hasPendingTo"
  | "getLink"
  | "getPending"
  | "getTask"
  | "countOpenTasks"
>;

/** What accepting one envelope changes, written with it in one transaction. */
export interface AcceptEffects {
  /** Record a pending connection request (from → to). */
  pending?: { from: string; to: string; request_id: string };
  /** Remove the pending request (from → to): it was answered. */
  answered?: { from: string; to: string };
  /** Create the connection in both directions with these permissions. */
  connect?: { a: string; b: string; permissions: Permissions };
  /** Create or update the relay's view of a task. */
  task?: RelayTask;
}

/** An envelope to store. */
export interface EnvelopeRow {
  id: string;
  sender_client: string;
  from: string;
  to: string[];
  type: string;
  body: string;
  accepted_at: number;
}

/** A queued item for one client: an envelope or a receipt for the sender. */
export interface DeliveryRow {
  seq: number;
  kind: "envelope" | "receipt";
  body: string;
  envelope_id: string;
  accepted_at: number;
  attempts: number;
}

/** The receipt body queued to a sender. */
export interface ReceiptBody {
  id: string;
  state: "delivered" | "failed";
  recipients: string[];
  at: string;
  reason?: string;
}

/** Counts for /metrics and the status page. */
export interface StoreStats {
  clients: number;
  agents: number;
  pending_deliveries: number;
  envelopes: number;
}

/**
 * What a store shared by several relay nodes adds (PostgreSQL): cross-node serialization of
 * the accept checks, shared rate limits, and wake-ups for the node holding a session.
 */
export interface ClusterStore {
  /**
   * Runs `fn` in one transaction holding locks on `keys` (all nodes see one order). Every store
   * call made while `fn` runs (through its argument or this store) joins that transaction, so
   * `fn` never waits for a second connection while it holds the locks; `fn` must not wait on
   * anything else (sockets, timers, other nodes) either.
   */
  exclusive<T>(keys: string[], fn: (store: RelayStore) => Promise<T>): Promise<T>;
  /**
   * Counts one use of each key if all are under their per-minute limits; else the key over.
   * Inside {@link exclusive} it is part of that transaction.
   */
  takeRates(keys: [string, number][], now: number): Promise<string | null>;
  /** Tells every node that `clientId` has new deliveries. */
  notifyWake(clientId: string): Promise<void>;
  /** Records that `nodeId` now holds `clientId`'s session; other nodes drop theirs. */
  claimSession(clientId: string, nodeId: string, now: number): Promise<void>;
  releaseSession(clientId: string, nodeId: string): Promise<void>;
  /** Tells every node a presence report (lib/relay/presence.ts); optional. */
  notifyPresence?(payload: string): Promise<void>;
  /** Subscribes to presence reports; resolves with the unsubscribe function. */
  listenPresence?(onReport: (payload: string) => void): Promise<() => Promise<void>>;
  /** Subscribes to wake-ups and session moves; resolves with the unsubscribe function. */
  listen(
    onWake: (clientId: string) => void,
    onSession: (clientId: string, nodeId: string) => void,
  ): Promise<() => Promise<void>>;
}

/** Everything the relay persists. */
export interface RelayStore {
  /** Present when several relay nodes share this store. */
  readonly cluster?: ClusterStore;

  /**
   * True when every delivery row is written through this process's relay (SQLite: one relay
   * per database). Sessions may then push rows they are handed at commit without reading them
   * back. A store shared by several relay processes leaves it unset.
   */
  readonly singleWriter?: boolean;

  // Clients (accounts).
  addClient(id: string, tokenHash: string, now: number): Promise<void>;
  getClient(id: string): Promise<ClientRecord | null>;
  listClients(): Promise<ClientRecord[]>;
  /**
   * When each client was last active, by id: its newest envelope sent, delivery acknowledged
   * or agent registered that is still on record (retention prunes traffic). Absent: none.
   */
  clientsLastSeen(): Promise<Map<string, number>>;
  revokeClient(id: string, now: number): Promise<boolean>;
  setClientToken(id: string, tokenHash: string): Promise<boolean>;

  // Agents.
  getAgent(handle: string): Promise<AgentRecord | null>;
  /**
   * The client or agent as this process keeps it between frames, for the per-frame checks
   * only: it may lag a change made elsewhere by a notification's delay, so what depends on it
   * is checked again inside the accept (credentials.ts `checkSender`). Absent: `getClient` and
   * `getAgent` are as cheap (SQLite sees other processes' commits at once).
   */
  keptClient?(id: string): Promise<ClientRecord | null>;
  keptAgent?(handle: string): Promise<AgentRecord | null>;
  putAgent(agent: AgentRecord): Promise<void>;
  listPublicAgents(limit: number): Promise<AgentRecord[]>;

  // Invites and the grants they give.
  createInvite(invite: InviteRecord): Promise<void>;
  getInvite(code: string): Promise<InviteRecord | null>;
  revokeInvite(code: string): Promise<boolean>;
  /** Counts a use and records that `clientId` may contact the invite's agent. */
  useInvite(code: string, clientId: string, now: number): Promise<void>;
  hasGrant(clientId: string, agent: string): Promise<boolean>;

  // Connections, one row per direction: `sender` may send to `recipient` with `permissions`.
  getLink(sender: string, recipient: string): Promise<Permissions | null>;
  setLinkPermissions(sender: string, recipient: string, permissions: Permissions): Promise<boolean>;
  /** True when any agent of `clientId` is connected to `agent`. */
  clientLinkedTo(clientId: string, agent: string): Promise<boolean>;
  getPending(from: string, to: string): Promise<{ request_id: string } | null>;
  /** True when `agent` has a pending connection request to any agent of `clientId`. */
  hasPendingTo(agent: string, clientId: string): Promise<boolean>;

  // Tasks.
  getTask(id: string): Promise<RelayTask | null>;
  countOpenTasks(requester: string, worker: string): Promise<number>;

  // Envelopes and the delivery queue.
  envelopeExists(id: string): Promise<boolean>;
  /**
   * In one transaction: stores the envelope, one delivery per recipient client and the
   * effects. Returns the queued deliveries. Throws `duplicate_envelope` for a known id.
   */
  acceptEnvelope(
    envelope: EnvelopeRow,
    recipientClients: string[],
    effects: AcceptEffects,
  ): Promise<{ client_id: string; seq: number }[]>;
  /** Pending deliveries of `clientId` with seq > `afterSeq`, in order. */
  pendingDeliveries(clientId: string, afterSeq: number, limit: number): Promise<DeliveryRow[]>;
  /**
   * Marks a delivery done. For an envelope delivery, queues a `delivered` receipt to the
   * sender's client in the same transaction and returns it. Idempotent.
   */
  ackDelivery(
    clientId: string,
    seq: number,
    now: number,
  ): Promise<
    {
      acked: boolean;
      /** `body` (the receipt's JSON) lets a single-writer store's relay push it unread. */
      receipt?: { client_id: string; seq: number; body?: string };
      accepted_at?: number;
    }
  >;
  /** Counts an attempt (for backoff). */
  noteAttempt(clientId: string, seq: number): Promise<void>;
  /** Fails deliveries pending since before `before`, queuing `failed` receipts. */
  failExpired(before: number, now: number): Promise<{ client_id: string; seq: number }[]>;
  /** Deletes finished deliveries and envelopes accepted before `before`. */
  prune(before: number): Promise<number>;
  stats(): Promise<StoreStats>;

  close(): Promise<void>;

  /** Number of agents registered by `clientId` (the relay caps it). */
  countClientAgents(clientId: string): Promise<number>;

  /** A remembered relay setting, or null (design: the `relay_settings` table). */
  getSetting(key: RelaySettingKey): Promise<string | null>;
  /** Remembers a relay setting. */
  setSetting(key: RelaySettingKey, value: string, now: number): Promise<void>;
}

/** What the relay remembers across starts: `public_url`, from `--public-url` at start. */
export type RelaySettingKey = "public_url";
