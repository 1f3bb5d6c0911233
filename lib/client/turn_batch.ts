/**
 * Items that arrive in a burst, handled together. The frames of one socket read are dispatched
 * synchronously (lib/client/ws.ts), so the relay's `accepted` answers to a window of envelopes
 * become one batch in a microtask: one commit instead of one each. Work that completes over
 * several turns, or arrives over one (the sends of a turn's HTTP requests), can ask to wait one
 * macrotask for the rest.
 */
import { setImmediate } from "node:timers";

/** Collects items and hands them to `apply` at once. */
export class TurnBatch<T> {
  #items: T[] = [];

  /**
   * @param apply handles a batch (in arrival order).
   * @param more when it says more items are on their way, the batch waits until the event
   * loop's next turn (`setImmediate`) for them: one turn at most, never longer.
   */
  constructor(
    private readonly apply: (items: T[]) => void,
    private readonly more: () => boolean = () => false,
  ) {}

  /** Queues `item`; the batch runs in a microtask, or on the next turn (see `more`). */
  add(item: T) {
    this.#items.push(item);
    if (this.#items.length > 1) return;
    queueMicrotask(() => this.more() ? setImmediate(() => this.#run()) : this.#run());
  }

  #run() {
    const items = this.#items;
    this.#items = [];
    this.apply(items);
  }
}
