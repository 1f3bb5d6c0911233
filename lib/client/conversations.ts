/**
 * Read-only views the dashboard needs over the message history: threads of plain messages
 * between a local agent and a peer, and recent messages (of any type) for activity lists.
 */
import { fail, HandleSchema, PAYLOAD_SCHEMAS } from "../protocol/mod.ts";
import type { ConversationSummary, MessageView } from "../protocol/views.ts";
import type { Daemon } from "./daemon.ts";
import type { MessageFilter } from "./store/mod.ts";
import { messageView } from "./views.ts";

export type { ConversationSummary, MessageFilter };

/** Threads of `message` envelopes, newest first (optionally of one local agent). */
export function listConversations(d: Daemon, agent?: string): ConversationSummary[] {
  if (agent !== undefined) d.keyring.require(agent);
  return d.store.history.conversations(agent).map(({ last_payload, ...r }) => {
    const text = (JSON.parse(last_payload) as { text?: unknown }).text;
    return { ...r, last_text: typeof text === "string" ? text.slice(0, 200) : null };
  });
}

/** The latest `limit` messages matching `f`, oldest first. */
export function listMessages(d: Daemon, f: MessageFilter): MessageView[] {
  if (f.agent !== undefined) d.keyring.require(f.agent);
  if (f.peer !== undefined && !HandleSchema.safeParse(f.peer).success) {
    throw fail("invalid_handle");
  }
  if (f.type !== undefined && !(f.type in PAYLOAD_SCHEMAS)) {
    throw fail("validation_failed", `unknown type ${f.type}`);
  }
  // Files: each message with its files' transfer state (files/views.ts).
  return d.store.history.messages(f).map((r) =>
    messageView(r, undefined, d.files.viewsOf(r.id, r.agent))
  );
}
