/**
 * The `agents` table: this daemon's local agents, with their private keys — wrapped at rest
 * when the owner protects them (docs/operations.md "Protecting keys"): rows are unwrapped on
 * read and wrapped on write here, so nothing above this file sees the difference.
 */
import { fail } from "../../protocol/mod.ts";
import { all, type DatabaseSync, get, run, transaction } from "../../store/mod.ts";
import { isWrapped, type KeyWrapper } from "../secrets/wrap.ts";
import { CommittedRows } from "./committed_rows.ts";

/** The settings key holding the protection record (its presence means "protected"). */
export const KEY_PROTECTION_SETTING = "key_protection";

// One wrapper per open database: every AgentTable over it (the daemon's, the server's) shares it.
const WRAPPERS = new WeakMap<DatabaseSync, KeyWrapper>();

/** Unlocks `db`'s private keys: reads unwrap and writes wrap with `wrapper` from now on. */
export function useKeyWrapper(db: DatabaseSync, wrapper: KeyWrapper) {
  WRAPPERS.set(db, wrapper);
}

const PRIVATE_COLUMNS = ["signing_private_key", "encryption_private_key"] as const;

/** What a wrapped key is bound to: its agent and column. */
function keyAad(handle: string, column: string) {
  return `taskferry agent key\n${handle}\n${column}`;
}

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
  /**
   * Rows by handle, as committed (lib/client/store/committed_rows.ts): the daemon reads its
   * agents several times per message (issue 21). This table is the agents' only writer in a
   * running daemon, and every write here clears it.
   */
  readonly #rows: CommittedRows<LocalAgentRow>;

  constructor(private readonly db: DatabaseSync) {
    this.#rows = new CommittedRows(db);
  }

  /** The local agent `handle`, if there is one. */
  get(handle: string): LocalAgentRow | undefined {
    return this.#rows.get(handle, () => {
      const stored = get<LocalAgentRow>(this.db, "SELECT * FROM agents WHERE handle = ?", handle);
      return stored ? this.#open(stored) : undefined;
    });
  }

  /** Every local agent, by handle. */
  list(): LocalAgentRow[] {
    return all<LocalAgentRow>(this.db, "SELECT * FROM agents ORDER BY handle")
      .map((r) => this.#open(r));
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
  insert(handle: string, plainKeys: StoredKeys, profile: string, isPublic: boolean, at: string) {
    this.#rows.clear();
    const keys = this.#seal(handle, plainKeys);
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
  replaceKeys(handle: string, plainKeys: StoredKeys) {
    this.#rows.clear();
    const keys = this.#seal(handle, plainKeys);
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
    this.#rows.clear();
    run(this.db, "UPDATE agents SET registered = 1 WHERE handle = ?", handle);
  }

  /** Number of local agents. */
  count(): number {
    return get<{ n: number }>(this.db, "SELECT count(*) AS n FROM agents")?.n ?? 0;
  }

  /**
   * Wraps every private key still in clear (enabling protection, or keys an older version
   * wrote) in one transaction; returns how many rows changed. The caller then truncates the
   * WAL so no old page keeps a clear copy.
   */
  wrapAll(): number {
    if (!WRAPPERS.has(this.db)) throw new Error("wrapAll needs a key wrapper");
    this.#rows.clear();
    return transaction(this.db, () => {
      let n = 0;
      for (const row of all<LocalAgentRow>(this.db, "SELECT * FROM agents")) {
        if (PRIVATE_COLUMNS.every((c) => isWrapped(row[c]))) continue;
        const open = this.#open(row);
        const sealed = this.#seal(row.handle, open);
        run(
          this.db,
          "UPDATE agents SET signing_private_key = ?, encryption_private_key = ? WHERE handle = ?",
          sealed.signing_private_key,
          sealed.encryption_private_key,
          row.handle,
        );
        n++;
      }
      return n;
    });
  }

  /** `row` with its private keys in clear; `keys_locked` when they are wrapped and locked. */
  #open<T extends StoredKeys & { handle: string }>(row: T): T {
    const wrapper = WRAPPERS.get(this.db);
    const out = { ...row };
    for (const c of PRIVATE_COLUMNS) {
      if (!isWrapped(row[c])) continue;
      if (!wrapper) throw locked();
      out[c] = wrapper.unwrap(row[c], keyAad(row.handle, c));
    }
    return out;
  }

  /** `keys` as they are stored: wrapped when protection is on (never in clear then). */
  #seal(handle: string, keys: StoredKeys): StoredKeys {
    const wrapper = WRAPPERS.get(this.db);
    if (!wrapper) {
      const on = get(this.db, "SELECT 1 FROM settings WHERE key = ?", KEY_PROTECTION_SETTING);
      if (on) throw locked();
      return keys;
    }
    const out = { ...keys };
    for (const c of PRIVATE_COLUMNS) {
      out[c] = isWrapped(keys[c]) ? keys[c] : wrapper.wrap(keys[c], keyAad(handle, c));
    }
    return out;
  }
}

function locked() {
  return fail(
    "keys_locked",
    "this daemon's agent keys are protected and were not unlocked; start it with " +
      "`taskferry client` (passphrase from TASKFERRY_PASSPHRASE_FILE, a prompt or the keychain)",
  );
}
