/**
 * The inbound pipeline's back half: open a verified envelope for each local recipient, then
 * apply it (connections, permissions, the task state machine, gates), store it and show it in
 * the inbox — in the caller's transaction, which may hold a whole batch of deliveries
 * (inbound.ts), with events and receipts only after its commit. An envelope that cannot be applied is stored as `rejected` with its
 * code and reason, never silently dropped — also when applying it throws (a bug, or a hostile
 * payload): only a transient store error ({@link isTransient}) leaves the delivery unacked.
 */
import {
  decodeBase64Url,
  type Envelope,
  type ErrorCode,
  type FileRef,
  isTaskType,
  openEnvelope,
  permissionFor,
  type Permissions,
  TaskferryError,
} from "../protocol/mod.ts";
import { logger } from "../log.ts";
import { applyInboundConnection, syncPermissions } from "./connections.ts";
import type { Daemon } from "./daemon.ts";
import { recordInbound } from "./files/attach.ts";
import { quarantine } from "./quarantine.ts";
import { applyInboundTask, emitInboundTask } from "./tasks/mod.ts";

const log = logger("inbound");

/** An envelope's payload, opened for one local recipient. */
export interface Opened {
  local: string;
  payload: Record<string, unknown>;
}

/**
 * Opens a verified envelope for each local recipient (`signingKey`: the sender's pinned key,
 * base64url). A payload that cannot be opened is quarantined and left out.
 */
export async function openFor(
  d: Daemon,
  envelope: Envelope,
  locals: string[],
  signingKey: string,
): Promise<Opened[]> {
  const opened: Opened[] = [];
  for (const local of locals) {
    const keys = await d.keyring.keysOf(local);
    try {
      const payload = await openEnvelope(envelope, local, {
        encryptionPrivateKey: keys.encryption.privateKey,
        encryptionPublicKey: keys.encryption.publicKey,
      }, decodeBase64Url(signingKey)) as Record<string, unknown>;
      opened.push({ local, payload });
    } catch (err) {
      quarantine(
        d,
        envelope,
        envelope,
        err instanceof TaskferryError ? err.code : "decrypt_failed",
      );
    }
  }
  return opened;
}

/**
 * Applies opened payloads inside the caller's transaction, each recipient in its own savepoint,
 * and returns what to do once that transaction has committed (events, receipts, file
 * transfers). A payload whose application throws is stored as `rejected`; only a transient
 * store error is rethrown, for the caller to roll back and leave the delivery unacked.
 */
export function stageOpened(d: Daemon, envelope: Envelope, opened: Opened[]): AfterCommit[] {
  const after: AfterCommit[] = [];
  for (const { local, payload } of opened) {
    try {
      after.push(applyOne(d, envelope, payload, local));
    } catch (err) {
      if (isTransient(err)) throw err;
      recordPoison(d, envelope, payload, local, err);
    }
  }
  return after;
}

/** Work that may run only after the transaction that stored an envelope has committed. */
export type AfterCommit = () => void;

/** Runs what committed envelopes left to do; one failing does not stop the others. */
export function afterCommit(after: AfterCommit[]) {
  for (const fn of after) {
    try {
      fn();
    } catch (err) {
      log.error("work after storing an inbound envelope failed", { err });
    }
  }
}

/** Opens and applies a verified envelope for each local recipient (the quarantine's release). */
export async function applyVerified(d: Daemon, envelope: Envelope, locals: string[]) {
  const peer = await d.peers.ensure(envelope.from);
  const opened = await openFor(d, envelope, locals, peer.signing_public_key);
  afterCommit(d.store.transaction(() => stageOpened(d, envelope, opened)));
}

/** SQLite result codes worth another attempt: busy, locked, I/O, full. */
const SQLITE_TRANSIENT = new Set([5, 6, 10, 13]);
/** Catalogue codes that mean "try again later" (the relay unreachable or busy). */
const TRANSIENT_CODES: readonly string[] = ["unavailable", "rate_limited"];

/**
 * Whether `err` may go away by itself, so the delivery should come again (unacked) rather
 * than be recorded as refused: the relay unreachable while pinning a key, or the database
 * busy, locked or full.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof TaskferryError) return TRANSIENT_CODES.includes(err.code);
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  if (typeof e?.errcode === "number" && SQLITE_TRANSIENT.has(e.errcode & 0xff)) return true;
  return /database is locked|database table is locked|database or disk is full|SQLITE_(BUSY|LOCKED|FULL|IOERR)/
    .test(String(e?.message ?? ""));
}

/**
 * Keeps an envelope whose application threw: a `rejected` row with the error's code, so the
 * owner sees it and the stream goes on. If even that cannot be stored, it is quarantined.
 */
function recordPoison(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
  err: unknown,
) {
  const code: ErrorCode = err instanceof TaskferryError ? err.code : "internal";
  const reason = `could not be applied: ${String((err as Error)?.message ?? err).slice(0, 300)}`;
  log.error("inbound envelope could not be applied; stored as rejected", {
    id: envelope.id,
    code,
    err,
  });
  try {
    d.store.messages.insert(envelope, local, "in", payload, "rejected", d.nowIso(), {
      code,
      reason,
    });
  } catch {
    quarantine(d, envelope, envelope, code);
  }
}

/** Why an inbound envelope was not applied. */
interface Rejection {
  code: ErrorCode;
  message: string;
}

/** Applies and stores one payload (a savepoint); returns what is left for after the commit. */
function applyOne(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
): AfterCommit {
  let visible = true;
  let rejected: Rejection | null = null;
  let syncAfterCommit = false;
  const at = d.nowIso();
  const files = (payload.files as FileRef[] | undefined) ?? [];
  d.store.transaction(() => {
    if (envelope.type === "receipt") {
      applyReceipt(d, envelope, payload, local);
      d.store.messages.insert(envelope, local, "in", payload, "received", at);
      visible = false;
      return;
    }
    if (envelope.type.startsWith("connection_")) {
      if (!applyInboundConnection(d, envelope, payload, local)) {
        rejected = { code: "connection_not_pending", message: "answers no request of ours" };
      } else if (envelope.type === "connection_accept") {
        syncAfterCommit = true;
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
      const { code, message } = rejected as Rejection;
      d.store.messages.insert(envelope, local, "in", payload, "rejected", at, {
        code,
        reason: message,
      });
      return;
    }
    d.store.messages.insert(envelope, local, "in", payload, "received", at);
    if (visible) d.store.inbox.add(local, envelope.id);
    // Stored: the sender is owed a signed `delivered` receipt (receipts, which returned above,
    // are not answered).
    if (d.inbound.receipts.enabled) {
      d.store.messages.owe(envelope.id, local, envelope.from, at);
    }
    // Files (design §12): recorded pending; downloaded and verified in the background.
    if (files.length) recordInbound(d.store, envelope, local, files, at);
  });
  return () => {
    if (rejected) {
      log.warn("inbound envelope rejected", { id: envelope.id, ...(rejected as Rejection) });
      return;
    }
    if (syncAfterCommit) syncPermissions(d).catch(() => {});
    if (envelope.type !== "receipt") d.inbound.receipts.schedule();
    if (files.length) d.files.transfers?.kick();
    if (envelope.type.startsWith("connection_")) {
      d.events.emit(
        "connection",
        { agent: local, peer: envelope.from, type: envelope.type },
        local,
      );
    }
    if (envelope.task_id) emitInboundTask(d, envelope, payload, local);
    if (visible) {
      d.events.emit("inbox", { id: envelope.id, type: envelope.type, from: envelope.from }, local);
    }
  };
}

/** What `peer` may send to `local` (null when not connected). */
function inboundPermissions(d: Daemon, local: string, peer: string): Permissions | null {
  const row = d.store.connections.between(local, peer);
  if (row?.state !== "connected") return null;
  return JSON.parse(row.permissions) as Permissions;
}

/** A peer's signed delivered/read/processed/failed receipt for messages of ours. */
function applyReceipt(
  d: Daemon,
  envelope: Envelope,
  payload: Record<string, unknown>,
  local: string,
) {
  const ids = [
    payload.message_id as string,
    ...(payload.message_ids as string[] | undefined ?? []),
  ];
  for (const id of ids) {
    const original = d.store.messages.outboundState(id);
    // Only a recipient of our message may report on it.
    if (
      original?.agent !== local ||
      !(JSON.parse(original.to_handles) as string[]).includes(envelope.from)
    ) {
      continue;
    }
    d.delivery.advanceOut(id, payload.state as string, "peer", {
      reason: payload.reason as string | undefined,
    });
  }
}
