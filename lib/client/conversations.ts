/**
 * Read-only views the dashboard needs over the message history: threads of plain messages
 * between a local agent and a peer, and recent messages (of any type) for activity lists.
 */
import { fail, HandleSchema, PAYLOAD_SCHEMAS } from "../protocol/mod.ts";
import { all } from "../store/mod.ts";
import type { Daemon, MessageRow } from "./daemon.ts";

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

/** Threads of `message` envelopes, newest first (optionally of one local agent). */
export function listConversations(d: Daemon, agent?: string): ConversationSummary[] {
  if (agent !== undefined) d.requireLocal(agent);
  // One row per (local agent, peer): inbound rows name the sender, outbound rows each recipient.
  const rows = all<ConversationSummary & { last_payload: string }>(
    d.db,
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
  return rows.map(({ last_payload, ...r }) => {
    const text = (JSON.parse(last_payload) as { text?: unknown }).text;
    return { ...r, last_text: typeof text === "string" ? text.slice(0, 200) : null };
  });
}

/** Filters for {@link listMessages}. */
export interface MessageFilter {
  agent?: string | undefined;
  peer?: string | undefined;
  type?: string | undefined;
  limit: number;
}

/** The latest `limit` messages matching `f`, oldest first. */
export function listMessages(d: Daemon, f: MessageFilter) {
  if (f.agent !== undefined) d.requireLocal(f.agent);
  if (f.peer !== undefined && !HandleSchema.safeParse(f.peer).success) {
    throw fail("invalid_handle");
  }
  if (f.type !== undefined && !(f.type in PAYLOAD_SCHEMAS)) {
    throw fail("validation_failed", `unknown type ${f.type}`);
  }
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
  const rows = all<MessageRow>(
    d.db,
    `SELECT * FROM (SELECT m.*, rowid AS r FROM messages m
       ${where.length ? "WHERE " + where.join(" AND ") : ""}
       ORDER BY m.created_at DESC, r DESC LIMIT ?) ORDER BY created_at, r`,
    ...params,
    f.limit,
  );
  return rows.map((r) => d.messageView(r));
}
