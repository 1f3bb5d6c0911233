/**
 * What a `delivered` receipt needs from its envelope (sender client, recipients, accepted at),
 * kept in memory from the accept's COMMIT until the ack (SQLite: one relay per database). The
 * ack then reads no envelope row: reading those three columns in the ack's RETURNING cost
 * ~5 µs per envelope, a third of the ack (issue 21, third pass). Envelope rows never change
 * once stored, so a fact kept is the row's; a miss (a restart, an envelope past the bound)
 * reads the row as before.
 *
 * Facts become readable only at COMMIT: an accept whose savepoint or COMMIT is undone leaves
 * none (its staged facts are dropped), so no receipt is ever built from an envelope that was
 * not stored.
 * @module
 */

/**
 * The envelope columns `receiptFor` reads (a type, not an interface: it is read as a row).
 */
export type ReceiptFacts = {
  sender_client: string;
  /** The envelope's recipient handles (the row holds them as JSON text). */
  recipients: readonly string[];
  accepted_at: number;
};

/** Envelopes whose facts are kept at most; past it the oldest are dropped (bounds memory). */
const MAX_FACTS = 8192;

/** Facts, and the recipient clients whose ack has not used them yet. */
type Entry = ReceiptFacts & { waiting: number };

/** Receipt facts by envelope id. */
export class ReceiptFactsCache {
  private readonly facts = new Map<string, Entry>();
  private staged: [string, Entry][] = [];

  /** Notes an envelope queued in the open transaction for `clients` recipient clients. */
  stage(id: string, facts: ReceiptFacts, clients: number) {
    if (clients > 0) this.staged.push([id, { ...facts, waiting: clients }]);
  }

  /** The open transaction committed: what it staged is stored. */
  committed() {
    for (const [id, entry] of this.staged) {
      this.facts.set(id, entry);
      if (this.facts.size > MAX_FACTS) this.facts.delete(this.facts.keys().next().value!);
    }
    this.staged = [];
  }

  /**
   * Work was undone (a savepoint or a COMMIT): drop everything staged in this transaction,
   * including accepts that were not undone (they are read from their rows instead).
   */
  rolledBack() {
    this.staged = [];
  }

  /** The facts of `id` for one recipient client's ack, or undefined (read the row). */
  take(id: string): ReceiptFacts | undefined {
    const entry = this.facts.get(id);
    if (entry && --entry.waiting <= 0) this.facts.delete(id);
    return entry;
  }

  /** Envelopes whose facts are kept (tests). */
  get size(): number {
    return this.facts.size;
  }
}
