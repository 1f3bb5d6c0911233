/** The `peers` table: peer keys, pinned at first contact. */
import { type DatabaseSync, get, run } from "../../store/mod.ts";
import { CommittedRows } from "./committed_rows.ts";

/** A pinned peer. */
export interface PeerRow {
  handle: string;
  signing_public_key: string;
  encryption_public_key: string;
  fingerprint: string;
  profile: string;
  pinned_at: string;
}

/** The `peers` table: keys pinned at first contact. */
export class PeerTable {
  /** Pins by handle, as committed: read for every message sent and received. */
  readonly #rows: CommittedRows<PeerRow>;

  constructor(private readonly db: DatabaseSync) {
    this.#rows = new CommittedRows(db);
  }

  /** The pin of `handle`, if any. */
  get(handle: string): PeerRow | undefined {
    return this.#rows.get(
      handle,
      () => get<PeerRow>(this.db, "SELECT * FROM peers WHERE handle = ?", handle),
    );
  }

  /** Pins `peer` unless a pin exists (the first pin wins). */
  insertIfAbsent(peer: PeerRow) {
    this.#rows.clear();
    run(
      this.db,
      `INSERT INTO peers (handle, signing_public_key, encryption_public_key, fingerprint, profile, pinned_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (handle) DO NOTHING`,
      peer.handle,
      peer.signing_public_key,
      peer.encryption_public_key,
      peer.fingerprint,
      peer.profile,
      peer.pinned_at,
    );
  }

  /** Replaces a pin (the owner accepted a key change). */
  repin(
    handle: string,
    keys: { signing_public_key: string; encryption_public_key: string; fingerprint: string },
    at: string,
  ) {
    this.#rows.clear();
    run(
      this.db,
      `UPDATE peers SET signing_public_key = ?, encryption_public_key = ?, fingerprint = ?, pinned_at = ?
       WHERE handle = ?`,
      keys.signing_public_key,
      keys.encryption_public_key,
      keys.fingerprint,
      at,
      handle,
    );
  }
}
