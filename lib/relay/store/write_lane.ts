/**
 * The statements of one PostgreSQL node that insert deliveries (a group's accept write, a
 * batch of acks with its receipts, the expiry sweep), one at a time.
 *
 * Why: a delivery's seq is taken from a sequence when its row is inserted, not when it
 * commits, and a session's pump reads `seq > cursor`. Two such statements in flight at once
 * could commit out of seq order: a pump that read the later row moved its cursor past the
 * earlier one, which then came only from the gap check, after the rows that followed it (a
 * group's message to bob, then a receipt to bob from an ack, arrived in the other order). One
 * at a time, this node's rows for a recipient commit in seq order. Across nodes, the group's
 * write and the ack statement take {@link queueLock} of every client they queue rows for,
 * before their rows take seqs: another node's rows for that client commit before or after
 * them, not in between. (The expiry sweep's receipts take none: `Session.catchUpGaps` sends
 * the rare one another node's row overtook.)
 * @module
 */

/**
 * The advisory lock key of `clientId`'s delivery queue (hashed as every lock key is). ACK_SQL
 * (pg_acks.ts) writes the same key in SQL: `'queue:' || client`.
 */
export function queueLock(clientId: string): string {
  return `queue:${clientId}`;
}

/** Runs tasks one after another, in the order they were asked for. */
export class WriteLane {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task asked for before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => {});
    return result;
  }
}
