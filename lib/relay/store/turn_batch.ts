/**
 * Look-ups by key coalesced per turn of the event loop: the keys asked for in one turn are read
 * with one statement after it, and each caller gets its row. Every caller still reads the table
 * after it asked, so nothing is served stale; only the round trips are shared (issue 21: a
 * PostgreSQL node read its sender's agent and its client once per envelope).
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * One table's coalesced look-ups; `load` returns the rows found, by key. One load runs at a
 * time: keys asked for while one is on its way wait for it and go together in the next, so
 * the batches grow with the load instead of the statements (issue 21, third pass).
 */
export class TurnBatch<V> {
  #wanted = new Map<string, PromiseWithResolvers<V | null>>();
  #loading = false;

  constructor(private readonly load: (keys: string[]) => Promise<Map<string, V>>) {}

  /** The row of `key` (null: none), read with the other keys asked for in this turn. */
  get(key: string): Promise<V | null> {
    let wanted = this.#wanted.get(key);
    if (wanted) return wanted.promise;
    wanted = Promise.withResolvers<V | null>();
    if (this.#wanted.size === 0 && !this.#loading) setImmediate(() => this.flush());
    this.#wanted.set(key, wanted);
    return wanted.promise;
  }

  private flush() {
    const wanted = this.#wanted;
    this.#wanted = new Map();
    this.#loading = true;
    this.load([...wanted.keys()]).then(
      (found) => {
        for (const [key, w] of wanted) w.resolve(found.get(key) ?? null);
      },
      (err) => {
        for (const w of wanted.values()) w.reject(err);
      },
    ).finally(() => {
      this.#loading = false;
      if (this.#wanted.size > 0) setImmediate(() => this.flush());
    });
  }
}
