/** The `invites` table: invite links this daemon created, so the owner can list and revoke. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** An invite this daemon created. */
export interface InviteRow {
  code: string;
  agent: string;
  url: string;
  fingerprint: string;
  expires_at: string;
  created_at: string;
  revoked_at: string | null;
}

/** The `invites` table. */
export class InviteTable {
  constructor(private readonly db: DatabaseSync) {}

  /** Records a created invite. */
  insert(row: Omit<InviteRow, "revoked_at">) {
    run(
      this.db,
      `INSERT INTO invites (code, agent, url, fingerprint, expires_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING`,
      row.code,
      row.agent,
      row.url,
      row.fingerprint,
      row.expires_at,
      row.created_at,
    );
  }

  /** The invite `code`, if this daemon created it. */
  get(code: string): InviteRow | undefined {
    return get<InviteRow>(this.db, "SELECT * FROM invites WHERE code = ?", code);
  }

  /** Invites, newest first (optionally of one local agent). */
  list(agent?: string): InviteRow[] {
    return all<InviteRow>(
      this.db,
      `SELECT * FROM invites ${agent ? "WHERE agent = ?" : ""} ORDER BY created_at DESC, code`,
      ...(agent ? [agent] : []),
    );
  }

  /** Marks an invite revoked. */
  markRevoked(code: string, at: string) {
    run(
      this.db,
      "UPDATE invites SET revoked_at = ? WHERE code = ? AND revoked_at IS NULL",
      at,
      code,
    );
  }
}
