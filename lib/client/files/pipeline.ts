/**
 * Keeps a few chunk transfers in flight (the round trip to the relay, not the bytes, bounds a
 * one-at-a-time transfer on a fast link) while their results are taken strictly in order, so
 * progress stays a prefix and a resume point stays exact. Memory is bounded by the window.
 */

/** Chunks in flight per transfer: four 1 MiB chunks, a few MiB of memory. */
export const TRANSFER_WINDOW = 4;

/**
 * Runs `task(i)` for each of `indexes` with at most `window` running, and `take(i, result)` in
 * the order of `indexes`. Stops starting tasks once `stopped()`; returns after taking the ones
 * started. A failed task throws from here when its turn comes (later ones are left to finish
 * unobserved).
 */
export async function pipelined<T>(
  indexes: readonly number[],
  task: (i: number) => Promise<T>,
  take: (i: number, result: T) => Promise<void> | void,
  stopped: () => boolean,
  window = TRANSFER_WINDOW,
): Promise<void> {
  const running = new Map<number, Promise<T>>();
  let next = 0;
  for (const i of indexes) {
    while (next < indexes.length && running.size < window && !stopped()) {
      const j = indexes[next++]!;
      const p = task(j);
      p.catch(() => {}); // observed in order below
      running.set(j, p);
    }
    const p = running.get(i);
    if (!p) return; // stopped before it started
    running.delete(i);
    await take(i, await p);
  }
}
