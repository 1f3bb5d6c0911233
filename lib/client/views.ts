/**
 * Rows as the loopback API shows them (shapes in lib/protocol/views.ts): agents without their
 * private keys, messages with their delivery state, connections with the peer's pin.
 */
import type { Permissions } from "../protocol/mod.ts";
import type {
  AgentView,
  ConnectionView,
  FileView,
  MessageView,
  QuarantineItemView,
} from "../protocol/views.ts";
import { causeText } from "./delivery.ts";
import { redactPayload } from "./files/views.ts";
import type {
  ConnectionRow,
  LocalAgentRow,
  MessageRow,
  PeerRow,
  QuarantineMeta,
} from "./store/mod.ts";

/** An agent as the API shows it: never the private keys. */
export function agentView(row: LocalAgentRow): AgentView {
  return {
    handle: row.handle,
    fingerprint: row.fingerprint,
    signing_public_key: row.signing_public_key,
    encryption_public_key: row.encryption_public_key,
    ...JSON.parse(row.profile),
    public: row.public === 1,
    registered: row.registered === 1,
    created_at: row.created_at,
  };
}

/** A message as the API shows it (`inboxSeq` for inbox items). */
export function messageView(row: MessageRow, inboxSeq?: number, files?: FileView[]): MessageView {
  const view: MessageView = {
    id: row.id,
    type: row.type,
    direction: row.direction,
    agent: row.agent,
    from: row.from_handle,
    to: JSON.parse(row.to_handles),
    created_at: row.created_at,
    state: row.state,
    payload: redactPayload(JSON.parse(row.payload)),
  };
  if (files?.length) view.files = files;
  if (inboxSeq !== undefined) view.seq = inboxSeq;
  if (row.conversation_id) view.conversation_id = row.conversation_id;
  if (row.task_id) view.task_id = row.task_id;
  if (row.reply_to) view.reply_to = row.reply_to;
  const reason = causeText({
    code: row.state_code ?? undefined,
    reason: row.state_reason ?? undefined,
  });
  if (reason) view.state_reason = reason;
  return view;
}

/** A connection as the API shows it (`peer`: the peer's pin, if any). */
export function connectionView(row: ConnectionRow, peer: PeerRow | undefined): ConnectionView {
  return {
    agent: row.agent,
    peer: row.peer,
    state: row.state,
    request_id: row.request_id,
    note: row.note,
    permissions: JSON.parse(row.permissions) as Permissions,
    peer_fingerprint: peer?.fingerprint ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** A quarantined envelope as the owner sees it: columns only, the envelope is not parsed. */
export function quarantineItemView(
  row: QuarantineMeta,
  pinnedFingerprint: string | null,
): QuarantineItemView {
  return {
    seq: row.seq,
    id: row.id,
    from: row.from_handle,
    reason: row.reason,
    type: row.type,
    size: row.size,
    complete: row.complete === 1,
    created_at: row.created_at,
    pinned_fingerprint: pinnedFingerprint,
    presented_key: row.presented_key ? JSON.parse(row.presented_key) : null,
  };
}
