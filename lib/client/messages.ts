/** Plain messages, the inbox cursor and read/processed receipts. */
import { fail, type FileRef, newId, type PayloadOf } from "../protocol/mod.ts";
import type { MessageView } from "../protocol/views.ts";
import type { Daemon } from "./daemon.ts";
import { inMovesForward } from "./delivery.ts";
import { messageView } from "./views.ts";

/** Sends a `message` from a local agent. */
export async function sendMessage(d: Daemon, input: {
  from: string;
  to: string[];
  text?: string | undefined;
  data?: unknown;
  conversation_id?: string | undefined;
  reply_to?: string | undefined;
  files?: FileRef[] | undefined;
}) {
  d.keyring.require(input.from);
  for (const to of input.to) {
    if (!d.store.connections.isConnected(input.from, to)) {
      throw fail("not_connected", `${input.from} has no connection to ${to}`);
    }
  }
  let conversation = input.conversation_id;
  if (!conversation && input.reply_to) {
    conversation = d.store.messages.conversationOf(input.reply_to);
  }
  conversation ??= newId("conv");
  const payload: PayloadOf<"message"> = {};
  if (input.text !== undefined) payload.text = input.text;
  if (input.data !== undefined) payload.data = input.data;
  if (input.files) payload.files = input.files;
  const sent = await d.outbox.send({
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
export function getMessage(d: Daemon, id: string): MessageView {
  const row = d.store.messages.byId(id);
  if (!row) throw fail("not_found", `no message ${id}`);
  return messageView(row, undefined, d.files.viewsOf(row.id, row.agent));
}

/** Inbox items of `agent` after cursor `after`. */
export function inboxItems(
  d: Daemon,
  agent: string,
  after: number,
  type: string | undefined,
  limit: number,
): MessageView[] {
  return d.store.inbox.items(agent, after, type, limit).map((r) =>
    messageView(r, r.seq, d.files.viewsOf(r.id, r.agent))
  );
}

/** The local agent marks an inbound message read or processed; the sender gets a receipt. */
export async function ackMessage(
  d: Daemon,
  id: string,
  input: { agent?: string | undefined; state: "read" | "processed" },
): Promise<MessageView> {
  return await d.lock.run(async () => {
    const candidates = d.store.messages.recipientsOf(id);
    if (candidates.length === 0) throw fail("not_found", `no inbound message ${id}`);
    const agent = d.keyring.acting(input.agent, candidates);
    const row = d.store.messages.inboundOf(id, agent);
    if (!row) throw fail("not_found", `${agent} did not receive ${id}`);
    if (inMovesForward(row.state, input.state)) {
      d.store.messages.setInState(id, agent, input.state, d.nowIso());
      // Receipts travel only over a connection (the relay refuses them otherwise).
      if (row.type !== "receipt" && d.store.connections.isConnected(agent, row.from_handle)) {
        await d.outbox.send({
          from: agent,
          to: [row.from_handle],
          type: "receipt",
          payload: { message_id: id, state: input.state },
          reply_to: id,
        });
      }
    }
    return messageView(d.store.messages.of(id, agent)!);
  });
}
