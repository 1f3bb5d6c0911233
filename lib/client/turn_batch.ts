/**
 * Items that arrive in a burst within one turn, handled together in a microtask. The frames of
 * one socket read are dispatched synchronously (lib/client/ws.ts), so e.g. the relay's
 * `accepted` answers to a window of envelopes become one batch: one commit instead of one each.
 */

/** Collects items of the current turn and hands them to `apply` at once. */
export class TurnBatch<T> {
  #items: T[] = [];

  constructor(private readonly apply: (items: T[]) => void) {}

  /** Queues `item`; the batch runs in a microtask, before any later promise callback. */
  add(item: T) {
    this.#items.push(item);
    if (this.#items.length > 1) return;
    queueMicrotask(() => {
      const items = this.#items;
      this.#items = [];
      this.apply(items);
    });
  }
}
