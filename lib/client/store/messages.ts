/** The `messages` table: every envelope sent or received, readable, with its delivery state. */
import type { Envelope, ErrorCode, MessageType } from "../../protocol/mod.ts";
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** An owed receipt (`r`) is settleable unless its peer's connection request awaits the owner. */
const SETTLEABLE = `NOT EXISTS (SELECT 1 FROM connections c
  WHERE c.agent = r.agent AND c.peer = r.peer AND c.state = 'pending_in')`;

/** A message row. */
export interface MessageRow {
  id: string;
  agent: string;
  direction: "in" | "out";
  type: MessageType;
  from_handle: string;
  to_handles: string;
  conversation_id: string | null;
  task_id: string | null;
  reply_to: string | null;
  created_at: string;
  payload: string;
  envelope: string;
  state: string;
  /** The catalogue code of a refusal or rejection (`failed`, `rejected`), else null. */
  state_code: ErrorCode | null;
  state_reason: string | null;
  updated_at: string;
}

/** The delivery state of an outbound message and what moving it needs to know. */
export type OutboundState = Pick<MessageRow, "agent" | "type" | "state" | "to_handles">;

/** Why a message is in its state: a catalogue code and/or a human reason. */
export interface StateCause {
  code?: ErrorCode | undefined;
  reason?: string | undefined;
}

/** The `messages` table. */
export class MessageTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Stores a message row (idempotent by id + agent). */
  insert(
    envelope: Envelope,
    agent: string,
    direction: "in" | "out",
    payload: unknown,
    state: string,
    at: string,
    cause: StateCause = {},
  ) {
    run(
      this.db,
      `INSERT INTO messages (id, agent, direction, type, from_handle, to_handles, conversation_id, task_id,
         reply_to, created_at, payload, envelope, state, state_code, state_reason, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, agent) DO NOTHING`,
      envelope.id,
      agent,
      direction,
      envelope.type,
      envelope.from,
      JSON.stringify(envelope.to),
      envelope.conversation_id ?? null,
      envelope.task_id ?? null,
      envelope.reply_to ?? null,
      envelope.created_at,
      JSON.stringify(payload),
      JSON.stringify(envelope),
      state,
      cause.code ?? null,
      cause.reason ?? null,
      at,
    );
  }

  /** Our outbound message `id`. */
  outbound(id: string): MessageRow | undefined {
    return get<MessageRow>(
      this.db,
      "SELECT * FROM messages WHERE id = ? AND direction = 'out'",
      id,
    );
  }

  /**
   * What the delivery path needs of our outbound message `id` (its sender, type, state and
   * recipients), without the payload and envelope texts a whole row would copy.
   */
  outboundState(id: string): OutboundState | undefined {
    return get<OutboundState>(
      this.db,
      "SELECT agent, type, state, to_handles FROM messages WHERE id = ? AND direction = 'out'",
      id,
    );
  }

  /**
   * Moves outbound message `id` to `state` if it is in one of `from` (the states the delivery
   * machine moves forward to it): one statement, no read first. Returns who and what it is
   * when it moved, undefined when it did not.
   */
  moveOut(
    id: string,
    from: readonly string[],
    state: string,
    cause: StateCause,
    at: string,
  ): Pick<MessageRow, "agent" | "type"> | undefined {
    return get<Pick<MessageRow, "agent" | "type">>(
      this.db,
      `UPDATE messages SET state = ?, state_code = ?, state_reason = ?, updated_at = ?
       WHERE id = ? AND direction = 'out' AND state IN (${from.map(() => "?").join(", ")})
       RETURNING agent, type`,
      state,
      cause.code ?? null,
      cause.reason ?? null,
      at,
      id,
      ...from,
    );
  }

  /** Sets an outbound message's state (the caller checked that it moves forward). */
  setOutState(id: string, state: string, cause: StateCause, at: string) {
    run(
      this.db,
      `UPDATE messages SET state = ?, state_code = ?, state_reason = ?, updated_at = ?
       WHERE id = ? AND direction = 'out'`,
      state,
      cause.code ?? null,
      cause.reason ?? null,
      at,
      id,
    );
  }

  /** A message by id, the outbound row first. */
  byId(id: string): MessageRow | undefined {
    return get<MessageRow>(
      this.db,
      "SELECT * FROM messages WHERE id = ? ORDER BY direction = 'out' DESC LIMIT 1",
      id,
    );
  }

  /** The row of `id` kept for local `agent`. */
  of(id: string, agent: string): MessageRow | undefined {
    return get<MessageRow>(
      this.db,
      "SELECT * FROM messages WHERE id = ? AND agent = ?",
      id,
      agent,
    );
  }

  /** The inbound row of `id` kept for local `agent`. */
  inboundOf(id: string, agent: string): MessageRow | undefined {
    return get<MessageRow>(
      this.db,
      "SELECT * FROM messages WHERE id = ? AND agent = ? AND direction = 'in'",
      id,
      agent,
    );
  }

  /** Local agents that received `id`. */
  recipientsOf(id: string): string[] {
    return all<{ agent: string }>(
      this.db,
      "SELECT agent FROM messages WHERE id = ? AND direction = 'in'",
      id,
    ).map((r) => r.agent);
  }

  /** Whether envelope `id` was already received (by any local agent). */
  wasReceived(id: string): boolean {
    return get(this.db, "SELECT 1 FROM messages WHERE id = ? AND direction = 'in' LIMIT 1", id) !==
      undefined;
  }

  /** Sets an inbound message's state (read, processed). */
  setInState(id: string, agent: string, state: string, at: string) {
    run(
      this.db,
      "UPDATE messages SET state = ?, updated_at = ? WHERE id = ? AND agent = ?",
      state,
      at,
      id,
      agent,
    );
  }

  /** Notes that `agent` owes `peer` a signed `delivered` receipt for `id` (with the insert). */
  owe(id: string, agent: string, peer: string, at: string) {
    run(
      this.db,
      "INSERT OR IGNORE INTO receipts_due (id, agent, peer, created_at) VALUES (?, ?, ?, ?)",
      id,
      agent,
      peer,
      at,
    );
  }

  /**
   * Receipts owed that can be settled now, oldest first. Those to a peer whose connection
   * request the owner has not answered wait: the relay carries receipts only within a
   * connection, and once accepted the request's own receipt is due.
   */
  owed(limit: number): { id: string; agent: string; peer: string }[] {
    return all(
      this.db,
      `SELECT id, agent, peer FROM receipts_due r WHERE ${SETTLEABLE} ORDER BY rowid LIMIT ?`,
      limit,
    );
  }

  /** How many receipts {@link owed} would give. */
  countOwed(): number {
    return get<{ n: number }>(
      this.db,
      `SELECT count(*) AS n FROM receipts_due r WHERE ${SETTLEABLE}`,
    )!.n;
  }

  /** Settles owed receipts of `agent` (sent, or no longer sendable). */
  settleOwed(agent: string, ids: string[]) {
    for (const id of ids) {
      run(this.db, "DELETE FROM receipts_due WHERE id = ? AND agent = ?", id, agent);
    }
  }

  /** The conversation message `id` belongs to, if known. */
  conversationOf(id: string): string | undefined {
    return get<{ conversation_id: string | null }>(
      this.db,
      "SELECT conversation_id FROM messages WHERE id = ? LIMIT 1",
      id,
    )?.conversation_id ?? undefined;
  }

  /** Ids of a task's messages that local `agent` received, oldest first. */
  receivedForTask(taskId: string, agent: string): string[] {
    return all<{ id: string }>(
      this.db,
      "SELECT id FROM messages WHERE task_id = ? AND agent = ? AND direction = 'in' ORDER BY created_at",
      taskId,
      agent,
    ).map((r) => r.id);
  }
}
