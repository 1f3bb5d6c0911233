/**
 * The shapes the daemon's loopback API answers with (docs/api.md), defined once: the daemon's
 * view builders produce them, the SDK, the MCP server and the OpenAI-compatible routes read
 * them. Types only (no runtime code), so every layer may import this file.
 */
import type { Permissions } from "./permissions.ts";
import type { TaskState } from "./tasks.ts";

/** A file a message carries (design §12), never its key; state of its transfer. */
export interface FileView {
  /** The id `GET /v1/files/{id}` takes (the blob id). */
  id: string;
  name: string;
  size: number;
  media_type: string;
  /** Base64url SHA-256 of the plaintext. */
  sha256: string;
  /** pending (being transferred), ready (verified, downloadable) or failed (see `error`). */
  state: "pending" | "ready" | "failed";
  /** Chunks transferred so far, of `chunks`. */
  done_chunks: number;
  chunks: number;
  /** Why it failed: "code: message". */
  error?: string;
}

/** A file to attach (docs/api.md, "Files"): a local path or a posted file's id. */
export type FileAttachment =
  & ({ path: string } | { file_id: string })
  & { name?: string; media_type?: string };

/** A message or inbox item (`seq` only on inbox items). */
export interface MessageView {
  id: string;
  seq?: number;
  type: string;
  direction: "in" | "out";
  agent: string;
  from: string;
  to: string[];
  created_at: string;
  state: string;
  /** Why it failed or was rejected: "code: message" (or the peer's reason). */
  state_reason?: string;
  payload: Record<string, unknown>;
  conversation_id?: string;
  task_id?: string;
  reply_to?: string;
  /** Its files with their transfer state (when it carries any). */
  files?: FileView[];
}

/** A message just queued (`POST` answers carry it). */
export interface QueuedMessage {
  id: string;
  state: string;
}

/** A task as the daemon shows it. */
export interface TaskView {
  id: string;
  title: string;
  instructions: string;
  inputs?: Record<string, unknown>;
  requester: string;
  worker: string;
  state: TaskState;
  artifact_version: number;
  revisions: number;
  max_revisions: number;
  deadline: string | null;
  gate: "none" | "pending" | "approved" | "rejected";
  created_at: string;
  updated_at: string;
  /** The task's local parties and their roles. */
  local_roles: Record<string, "requester" | "worker">;
  /** Per local party, the actions it may take now. */
  allowed_actions: Record<string, string[]>;
  /** An offer's candidates (design §13); `worker` stays "" until one is assigned. */
  candidates?: string[];
  /** On the requester's daemon, an offer's lease: its length, and when the running one lapses. */
  lease?: { seconds: number; until: string | null };
  /** The request's input files (when it carries any). */
  files?: FileView[];
  /** The worker's latest progress line, once it reported one (`task_progress`). */
  last_progress?: TaskProgressView;
  /** Why the worker gave up (`task_fail`), when the task is `failed`. */
  failure?: { reason: string; code?: string; at: string };
}

/** One progress line of a task (kept bounded per task, outside the audit chain). */
export interface TaskProgressView {
  message_id: string;
  from: string;
  text: string;
  queue_position?: number;
  at: string;
}

/** An artifact version. */
export interface ArtifactView {
  version: number;
  content: string;
  content_type: string;
  name: string | null;
  note: string | null;
  message_id: string;
  created_at: string;
  /** The version's files (when it carries any). */
  files?: FileView[];
}

/** One event of a task's timeline. */
export interface TaskEventView {
  seq: number;
  event_id: string;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
  hash: string;
  prev_hash: string;
  /** Delivery state of the message that carried the event (null for local events). */
  delivery_state: string | null;
}

/** A task with its timeline and artifacts. */
export interface TaskDetail {
  task: TaskView;
  events: TaskEventView[];
  artifacts: ArtifactView[];
  /** The latest progress lines, oldest first (the daemon keeps the last 200 per task). */
  progress: TaskProgressView[];
}

/** One event of the audit log (`GET /v1/audit`). */
export interface AuditEventView {
  seq: number;
  task_id: string;
  event_id: string;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** A local agent (never its private keys). */
export interface AgentView {
  handle: string;
  fingerprint: string;
  signing_public_key: string;
  encryption_public_key: string;
  display_name?: string;
  description?: string;
  capabilities?: string[];
  public: boolean;
  registered: boolean;
  created_at: string;
}

/** A connection of a local agent. */
export interface ConnectionView {
  agent: string;
  peer: string;
  state: "pending_out" | "pending_in" | "connected" | "declined" | "blocked";
  request_id: string | null;
  note: string | null;
  /** What the peer may send to the local agent. */
  permissions: Permissions;
  peer_fingerprint: string | null;
  created_at: string;
  updated_at: string;
  /** Presence (design §13): the peer agent has a live relay session now. */
  online?: boolean;
  /** When the peer was last seen online (null: never, as far as this daemon knows). */
  last_seen?: string | null;
}

/** One thread: a local agent and a peer, with its plain-message counts. */
export interface ConversationSummary {
  agent: string;
  peer: string;
  messages: number;
  /** Inbound messages the local agent has not marked read yet. */
  unread: number;
  last_at: string;
  last_text: string | null;
  last_direction: "in" | "out";
  last_state: string;
}

/** An invite link minted for a local agent. */
export interface InviteView {
  code: string;
  agent: string;
  fingerprint: string;
  expires_at: string;
  url: string;
}

/** An invite this daemon created, as `GET /v1/invites` lists it. */
export interface InviteListItem {
  code: string;
  agent: string;
  fingerprint: string;
  url: string;
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
  state: "active" | "expired" | "revoked";
}

/** Whether each task's audit hash chain holds (`GET /v1/audit/verify`). */
export interface AuditVerification {
  ok: boolean;
  tasks: { task_id: string; events: number; broken_at: number | null }[];
}

/** An invite looked up (and its agent pinned). */
export interface OpenedInviteView {
  code: string;
  agent: string;
  /** The fingerprint of the key the relay serves (and this daemon pinned). */
  fingerprint: string;
  /**
   * True only when the link carried the inviter's fingerprint and it matched; false when the link
   * had none (`#fp=` missing or empty): then nothing vouched for the key but the relay.
   */
  fingerprint_verified: boolean;
  expires_at: string;
  profile: Record<string, unknown>;
}

/** An envelope held for the owner. */
export interface QuarantineItemView {
  /** Position in the quarantine: page with `?before=seq`. */
  seq: number;
  id: string;
  from: string;
  reason: string;
  type: string | null;
  /** Bytes of the raw envelope as received. */
  size: number;
  /** Whether the whole envelope was kept (only then can a `key_changed` item be applied). */
  complete: boolean;
  created_at: string;
  pinned_fingerprint: string | null;
  /** The keys the relay now serves, for a `key_changed` item. */
  presented_key: { signing_public_key: string; encryption_public_key: string } | null;
}

/** The owner's decision on a quarantined item. */
export interface QuarantineResolution {
  id: string;
  resolution: "accepted" | "rejected";
  applied: number;
  /** Held envelopes of that sender that were kept only in part, so could not be applied. */
  dropped: number;
}

/** `GET /v1/health`. */
export interface HealthView {
  status: string;
  version: string;
  client_id: string;
  device_id: string;
  relay: {
    configured: boolean;
    url: string | null;
    connected: boolean;
    error: string | null;
    /** False once the relay refused the token: the daemon stopped retrying (see `error`). */
    retrying: boolean;
  };
  /** Deliveries left unacked by a transient error, with their attempt counts. */
  inbound: {
    stuck: {
      id: string;
      attempts: number;
      last_error: string;
      first_at: string;
      last_at: string;
    }[];
  };
  counts: Record<string, number>;
}

/** An agent token as the API lists it (never the secret; `GET /v1/tokens`). */
export interface AgentTokenView {
  id: string;
  agent: string;
  label: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** A newly issued agent token: the secret is shown this once (`POST /v1/agents/{handle}/tokens`). */
export interface IssuedAgentToken extends AgentTokenView {
  token: string;
}
