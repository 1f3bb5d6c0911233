/** The `inbox` table: what each local agent sees, in arrival order; the long-poll cursor. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";
import type { MessageRow } from "./messages.ts";

/** The `inbox` table: what each local agent sees, in arrival order. */
export class InboxTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Shows message `id` to `agent` (once). */
  add(agent: string, id: string) {
    run(
      this.db,
      "INSERT INTO inbox (agent, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
      agent,
      id,
    );
  }

  /** Inbox rows of `agent` after cursor `after`, optionally of one type. */
  items(
    agent: string,
    after: number,
    type: string | undefined,
    limit: number,
  ): (MessageRow & { seq: number })[] {
    return all<MessageRow & { seq: number }>(
      this.db,
      `SELECT i.seq, m.* FROM inbox i JOIN messages m ON m.id = i.message_id AND m.agent = i.agent
       WHERE i.agent = ? AND i.seq > ? ${type ? "AND m.type = ?" : ""} ORDER BY i.seq LIMIT ?`,
      ...(type ? [agent, after, type, limit] : [agent, after, limit]),
    );
  }

  /** The highest cursor of `agent` (0 when empty). */
  head(agent: string): number {
    return get<{ seq: number | null }>(
      this.db,
      "SELECT max(seq) AS seq FROM inbox WHERE agent = ?",
      agent,
    )?.seq ?? 0;
  }
}
