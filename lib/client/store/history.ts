/**
 * Read-only queries over the message history for the dashboard: threads of plain messages
 * between a local agent and a peer, and recent messages (of any type) for activity lists.
 */
import { all, type DatabaseSync } from "../../store/mod.ts";
import type { MessageRow } from "./messages.ts";

/** One thread row before its text is cut: a local agent and a peer, with counts. */
export interface ConversationRow {
  agent: string;
  peer: string;
  messages: number;
  unread: number;
  last_at: string;
  last_payload: string;
  last_direction: "in" | "out";
  last_state: string;
}

/** Filters for {@link HistoryQueries.messages}. */
export interface MessageFilter {
  agent?: string | undefined;
  peer?: string | undefined;
  type?: string | undefined;
  limit: number;
}

/** Queries over `messages` that read many rows at once. */
export class HistoryQueries {
  constructor(private readonly db: DatabaseSync) {}

  /** Threads of `message` envelopes, newest first (optionally of one local agent). */
  conversations(agent?: string): ConversationRow[] {
    // One row per (local agent, peer): inbound rows name the sender, outbound rows each recipient.
    return all<ConversationRow>(
      this.db,
      `WITH pairs AS (
         SELECT m.agent, m.from_handle AS peer, m.direction, m.state, m.created_at, m.payload
         FROM messages m WHERE m.type = 'message' AND m.direction = 'in'
         UNION ALL
         SELECT m.agent, j.value AS peer, m.direction, m.state, m.created_at, m.payload
         FROM messages m, json_each(m.to_handles) j WHERE m.type = 'message' AND m.direction = 'out'
       ), ranked AS (
         SELECT *, row_number() OVER (PARTITION BY agent, peer ORDER BY created_at DESC) AS rn,
           count(*) OVER (PARTITION BY agent, peer) AS messages,
           sum(direction = 'in' AND state = 'received') OVER (PARTITION BY agent, peer) AS unread
         FROM pairs ${agent !== undefined ? "WHERE agent = ?" : ""}
       )
       SELECT agent, peer, messages, unread, created_at AS last_at, payload AS last_payload,
         direction AS last_direction, state AS last_state
       FROM ranked WHERE rn = 1 ORDER BY last_at DESC LIMIT 500`,
      ...(agent !== undefined ? [agent] : []),
    );
  }

  /** The latest `limit` messages matching `f`, oldest first. */
  messages(f: MessageFilter): MessageRow[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (f.agent !== undefined) {
      where.push("m.agent = ?");
      params.push(f.agent);
    }
    if (f.peer !== undefined) {
      where.push(`((m.direction = 'in' AND m.from_handle = ?) OR
        (m.direction = 'out' AND EXISTS (SELECT 1 FROM json_each(m.to_handles) j WHERE j.value = ?)))`);
      params.push(f.peer, f.peer);
    }
    if (f.type !== undefined) {
      where.push("m.type = ?");
      params.push(f.type);
    }
    return all<MessageRow & { r?: number }>(
      this.db,
      `SELECT * FROM (SELECT m.*, rowid AS r FROM messages m
         ${where.length ? "WHERE " + where.join(" AND ") : ""}
         ORDER BY m.created_at DESC, r DESC LIMIT ?) ORDER BY created_at, r`,
      ...params,
      f.limit,
    );
  }
}
