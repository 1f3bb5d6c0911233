/**
 * Sliding-window rate limiter (two fixed one-minute windows, weighted). Entries idle for two
 * windows are evicted by `sweep`, so the table stays bounded by the active keys.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number; prev: number }>();

  constructor(private readonly windowMs = 60_000) {}

  /** True (and counts one) when `key` is under `limit` per window at `now`. */
  take(key: string, limit: number, now: number): boolean {
    const w = this.current(key, now);
    const weight = 1 - (now - w.start) / this.windowMs;
    if (w.prev * weight + w.count >= limit) return false;
    w.count++;
    return true;
  }

  /** True when `key` would be allowed, without counting. */
  peek(key: string, limit: number, now: number): boolean {
    const w = this.current(key, now);
    const weight = 1 - (now - w.start) / this.windowMs;
    return w.prev * weight + w.count < limit;
  }

  private current(key: string, now: number) {
    let w = this.windows.get(key);
    const start = now - (now % this.windowMs);
    if (!w) {
      w = { start, count: 0, prev: 0 };
      this.windows.set(key, w);
    } else if (w.start !== start) {
      w.prev = start - w.start === this.windowMs ? w.count : 0;
      w.count = 0;
      w.start = start;
    }
    return w;
  }

  /** Counts one use of every key when all are under their limits; else the key over. */
  takeAll(keys: [string, number][], now: number): string | null {
    for (const [key, limit] of keys) if (!this.peek(key, limit, now)) return key;
    for (const [key, limit] of keys) this.take(key, limit, now);
    return null;
  }

  /** Drops keys idle for two windows. */
  sweep(now: number) {
    for (const [key, w] of this.windows) {
      if (now - w.start >= 2 * this.windowMs) this.windows.delete(key);
    }
  }

  /** Number of tracked keys. */
  get size(): number {
    return this.windows.size;
  }
}
