/**
 * Group commit of accepts: the accepts that are ready in one turn of the event loop run one
 * after another and share one COMMIT (SQLite: one write transaction, a savepoint each; see
 * sqlite_group.ts. PostgreSQL: checks on facts read ahead, one write statement; pg_group.ts). Whatever an accept answers (`accepted`, pushes to recipients, or its refusal) runs
 * after that COMMIT, in the order the accepts ran: nothing is acknowledged before it is stored.
 * @module
 */
import type { Envelope } from "../../protocol/mod.ts";
import type { AcceptEffects, EnvelopeRow, RelayStore, RoutingReads } from "../store.ts";

/**
 * The store as grouped work sees it: the routing checks' reads and the accept's writes. Inside
 * a group an accept can store its envelope row first — the insert is the duplicate check, so
 * the id is looked up once, not twice — and its deliveries after the routing checks: a
 * refusal in between undoes the row with the accept's other writes.
 */
export interface GroupStore extends RoutingReads {
  /** Stores the envelope row; throws `duplicate_envelope` for a known id. */
  insertEnvelope(envelope: EnvelopeRow): Promise<void>;
  /** The deliveries and effects of an envelope stored by {@link insertEnvelope}. */
  queueEnvelope(
    envelope: EnvelopeRow,
    recipientClients: string[],
    effects: AcceptEffects,
  ): Promise<{ client_id: string; seq: number }[]>;
  /**
   * The shared rate limits, counted in the group's write (PostgreSQL); absent: the relay
   * counts them in its own process.
   */
  takeRates?(keys: [string, number][], now: number): string | null;
}

/**
 * What a grouped accept is about. A store that reads ahead (PostgreSQL) fetches the facts its
 * checks will need in the group's first read, and locks `locks` while it writes.
 */
export interface GroupHint {
  envelope: Envelope;
  senderClient: string;
  at: number;
  locks: string[];
}

/** How one grouped piece of work ended. */
export type GroupOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A store that can group writes into one commit per turn. */
export interface GroupCommit {
  /**
   * Runs `fn` in a savepoint of the current group transaction (after any earlier `grouped`
   * work: one at a time). `fn` must make its store calls through its argument, and wait on
   * nothing but them. When `fn` throws, its savepoint is rolled back. Then `after` runs with
   * the outcome once the group has committed (`commitError` set when the COMMIT failed: then
   * nothing of the group was stored). Resolves after `after` ran. `fn` may run more than once
   * (PostgreSQL runs a group's checks again when it had to read more): it must have no effect
   * but through its argument, or be idempotent.
   */
  grouped<T>(
    fn: (store: GroupStore) => Promise<T>,
    after: (outcome: GroupOutcome<T>, commitError: unknown) => void,
    hint?: GroupHint,
  ): Promise<void>;
  /**
   * Runs `fn` after the `grouped` work asked for so far has committed and answered (at once
   * when that is all done). Resolves after `fn` ran.
   */
  afterCommit(fn: () => void): Promise<void>;
  /** Resolves when all grouped work so far has committed (or failed). */
  idle(): Promise<void>;
}

/** The store's group commit, when it has one (SQLite, PostgreSQL). */
export function groupCommitOf(store: RelayStore): GroupCommit | null {
  const s = store as Partial<GroupCommit>;
  return typeof s.grouped === "function" && typeof s.afterCommit === "function"
    ? s as GroupCommit
    : null;
}
