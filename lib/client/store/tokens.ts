/**
 * The `agent_tokens` table: local credentials scoped to one agent (design §14). Only the SHA-256
 * of a token is stored, so a copy of the database does not hand out working credentials.
 */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** An agent token row (the hash never leaves the store's callers in lib/client/guards). */
export interface AgentTokenRow {
  id: string;
  agent: string;
  token_hash: string;
  label: string | null;
  created_at: string;
  last_used_at: string | null;
}

/** The `agent_tokens` table. */
export class AgentTokenTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Stores a new token (its hash). */
  insert(row: Omit<AgentTokenRow, "last_used_at">) {
    run(
      this.db,
      `INSERT INTO agent_tokens (id, agent, token_hash, label, created_at)
       VALUES (?, ?, ?, ?, ?)`,
      row.id,
      row.agent,
      row.token_hash,
      row.label,
      row.created_at,
    );
  }

  /** The token whose hash is `hash`, if any. */
  byHash(hash: string): AgentTokenRow | undefined {
    return get<AgentTokenRow>(this.db, "SELECT * FROM agent_tokens WHERE token_hash = ?", hash);
  }

  /** Token `id`, if any. */
  get(id: string): AgentTokenRow | undefined {
    return get<AgentTokenRow>(this.db, "SELECT * FROM agent_tokens WHERE id = ?", id);
  }

  /** Every token (optionally of one agent), oldest first. */
  list(agent?: string): AgentTokenRow[] {
    return agent === undefined
      ? all<AgentTokenRow>(this.db, "SELECT * FROM agent_tokens ORDER BY created_at, id")
      : all<AgentTokenRow>(
        this.db,
        "SELECT * FROM agent_tokens WHERE agent = ? ORDER BY created_at, id",
        agent,
      );
  }

  /** Records a use of token `id`. */
  touch(id: string, at: string) {
    run(this.db, "UPDATE agent_tokens SET last_used_at = ? WHERE id = ?", at, id);
  }

  /** Deletes token `id` (revocation); true when it existed. */
  delete(id: string): boolean {
    return Number(run(this.db, "DELETE FROM agent_tokens WHERE id = ?", id).changes) > 0;
  }
}
