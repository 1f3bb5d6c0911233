/** The `agents` table: this daemon's local agents, with their private keys. */
import { all, type DatabaseSync, get, run } from "../../store/mod.ts";

/** A local agent row (private keys included: never serialize this to a response). */
export interface LocalAgentRow {
  handle: string;
  signing_private_key: string;
  signing_public_key: string;
  encryption_private_key: string;
  encryption_public_key: string;
  fingerprint: string;
  profile: string;
  public: number;
  registered: number;
  created_at: string;
}

/** A full key set as stored (base64url), with its fingerprint. */
export interface StoredKeys {
  signing_private_key: string;
  signing_public_key: string;
  encryption_private_key: string;
  encryption_public_key: string;
  fingerprint: string;
}

/** The `agents` table. */
export class AgentTable {
  constructor(private readonly db: DatabaseSync) {}

  /** The local agent `handle`, if there is one. */
  get(handle: string): LocalAgentRow | undefined {
    return get<LocalAgentRow>(this.db, "SELECT * FROM agents WHERE handle = ?", handle);
  }

  /** Every local agent, by handle. */
  list(): LocalAgentRow[] {
    return all<LocalAgentRow>(this.db, "SELECT * FROM agents ORDER BY handle");
  }

  /** Every local handle, sorted. */
  handles(): string[] {
    return all<{ handle: string }>(this.db, "SELECT handle FROM agents ORDER BY handle")
      .map((r) => r.handle);
  }

  /** Handles created while the relay could not register them. */
  unregistered(): string[] {
    return all<{ handle: string }>(this.db, "SELECT handle FROM agents WHERE registered = 0")
      .map((r) => r.handle);
  }

  /** Adds a new, not yet registered agent. */
  insert(handle: string, keys: StoredKeys, profile: string, isPublic: boolean, at: string) {
    run(
      this.db,
      `INSERT INTO agents (handle, signing_private_key, signing_public_key, encryption_private_key,
         encryption_public_key, fingerprint, profile, public, registered, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
      handle,
      keys.signing_private_key,
      keys.signing_public_key,
      keys.encryption_private_key,
      keys.encryption_public_key,
      keys.fingerprint,
      profile,
      isPublic ? 1 : 0,
      at,
    );
  }

  /** Replaces an agent's keys; it must register again. */
  replaceKeys(handle: string, keys: StoredKeys) {
    run(
      this.db,
      `UPDATE agents SET signing_private_key = ?, signing_public_key = ?, encryption_private_key = ?,
         encryption_public_key = ?, fingerprint = ?, registered = 0 WHERE handle = ?`,
      keys.signing_private_key,
      keys.signing_public_key,
      keys.encryption_private_key,
      keys.encryption_public_key,
      keys.fingerprint,
      handle,
    );
  }

  /** Records that the relay accepted the agent's registration. */
  markRegistered(handle: string) {
    run(this.db, "UPDATE agents SET registered = 1 WHERE handle = ?", handle);
  }

  /** Number of local agents. */
  count(): number {
    return get<{ n: number }>(this.db, "SELECT count(*) AS n FROM agents")?.n ?? 0;
  }
}
