/** Plain messages, the inbox cursor and read/processed receipts. */
import { fail, newId, type PayloadOf } from "../protocol/mod.ts";
import { all, get, run } from "../store/mod.ts";
import type { Daemon, MessageRow } from "./daemon.ts";
import { nowIso } from "./util.ts";

/** Sends a `message` from a local agent. */
export async function sendMessage(d: Daemon, input: {
  from: string;
  to: string[];
  text?: string | undefined;
  data?: unknown;
  conversation_id?: string | undefined;
  reply_to?: string | undefined;
}) {
  d.requireLocal(input.from);
  for (const to of input.to) {
    const c = get<{ state: string }>(
      d.db,
      "SELECT state FROM connections WHERE agent = ? AND peer = ?",
      input.from,
      to,
    );
    if (c?.state !== "connected") {
      throw fail("not_connected", `${input.from} has no connection to ${to}`);
    }
  }
  let conversation = input.conversation_id;
  if (!conversation && input.reply_to) {
    conversation = get<{ conversation_id: string | null }>(
      d.db,
      "SELECT conversation_id FROM messages WHERE id = ? LIMIT 1",
      input.reply_to,
    )?.conversation_id ?? undefined;
  }
  conversation ??= newId("conv");
  const payload: PayloadOf<"message"> = {};
  if (input.text !== undefined) payload.text = input.text;
  if (input.data !== undefined) payload.data = input.data;
  const sent = await d.send({
    from: input.from,
    to: input.to,
    type: "message",
    payload,
    conversation_id: conversation,
    reply_to: input.reply_to,
  });
  return {
    message: {
      id: sent.id,
      state: "queued",
      conversation_id: conversation,
      created_at: sent.created_at,
    },
  };
}

/** A message by id (the local agent's row; outbound first). */
export function getMessage(d: Daemon, id: string) {
  const row = get<MessageRow>(
    d.db,
    "SELECT * FROM messages WHERE id = ? ORDER BY direction = 'out' DESC LIMIT 1",
    id,
  );
  if (!row) throw fail("not_found", `no message ${id}`);
  return d.messageView(row);
}

/** Inbox items of `agent` after cursor `after`. */
export function inboxItems(
  d: Daemon,
  agent: string,
  after: number,
  type: string | undefined,
  limit: number,
) {
  const rows = all<MessageRow & { seq: number }>(
    d.db,
    `SELECT i.seq, m.* FROM inbox i JOIN messages m ON m.id = i.message_id AND m.agent = i.agent
     WHERE i.agent = ? AND i.seq > ? ${type ? "AND m.type = ?" : ""} ORDER BY i.seq LIMIT ?`,
    ...(type ? [agent, after, type, limit] : [agent, after, limit]),
  );
  return rows.map((r) => d.messageView(r, r.seq));
}

/** The highest inbox cursor of `agent` (for clients that only want new items). */
export function inboxHead(d: Daemon, agent: string): number {
  return get<{ seq: number | null }>(
    d.db,
    "SELECT max(seq) AS seq FROM inbox WHERE agent = ?",
    agent,
  )?.seq ?? 0;
}

const IN_ORDER = ["received", "read", "processed"];

/** The local agent marks an inbound message read or processed; the sender gets a receipt. */
export async function ackMessage(
  d: Daemon,
  id: string,
  input: { agent?: string | undefined; state: "read" | "processed" },
) {
  return await d.lock.run(async () => {
    const candidates = all<{ agent: string }>(
      d.db,
      "SELECT agent FROM messages WHERE id = ? AND direction = 'in'",
      id,
    )
      .map((r) => r.agent);
    if (candidates.length === 0) throw fail("not_found", `no inbound message ${id}`);
    const agent = d.actingAgent(input.agent, candidates);
    const row = get<MessageRow>(
      d.db,
      "SELECT * FROM messages WHERE id = ? AND agent = ? AND direction = 'in'",
      id,
      agent,
    );
    if (!row) throw fail("not_found", `${agent} did not receive ${id}`);
    if (IN_ORDER.indexOf(input.state) > IN_ORDER.indexOf(row.state)) {
      run(
        d.db,
        "UPDATE messages SET state = ?, updated_at = ? WHERE id = ? AND agent = ?",
        input.state,
        nowIso(),
        id,
        agent,
      );
      const link = get<{ state: string }>(
        d.db,
        "SELECT state FROM connections WHERE agent = ? AND peer = ?",
        agent,
        row.from_handle,
      );
      // Receipts travel only over a connection (the relay refuses them otherwise).
      if (row.type !== "receipt" && link?.state === "connected") {
        await d.send({
          from: agent,
          to: [row.from_handle],
          type: "receipt",
          payload: { message_id: id, state: input.state },
          reply_to: id,
        });
      }
    }
    return d.messageView(
      get<MessageRow>(d.db, "SELECT * FROM messages WHERE id = ? AND agent = ?", id, agent)!,
    );
  });
}
