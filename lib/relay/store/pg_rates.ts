/**
 * The shared sliding-window rate check of PostgreSQL nodes (rate_windows), run in the caller's
 * transaction.
 * @module
 */
import type postgres from "postgres";
import { rateOver, rateWindow } from "./rules.ts";

/**
 * Null (and each key counted once) when every key is under its limit, else the first key over.
 * Atomic across nodes: the row locks taken by `FOR UPDATE` and the upserts order concurrent
 * callers.
 */
export async function takeRatesIn(
  t: postgres.Sql | postgres.TransactionSql,
  keys: [string, number][],
  now: number,
  windowMs: number,
): Promise<string | null> {
  const { start, previous: before, weight } = rateWindow(now, windowMs);
  for (const [key, limit] of keys) {
    const rows = await t`SELECT window_start, count FROM rate_windows
      WHERE key = ${key} AND window_start IN (${start}, ${before}) FOR UPDATE`;
    let current = 0;
    let previous = 0;
    for (const r of rows) {
      if (Number(r.window_start) === start) current = Number(r.count);
      else previous = Number(r.count);
    }
    if (rateOver(current, previous, weight, limit)) return key;
  }
  for (const [key] of keys) {
    await t`INSERT INTO rate_windows (key, window_start, count) VALUES (${key}, ${start}, 1)
      ON CONFLICT (key, window_start) DO UPDATE SET count = rate_windows.count + 1`;
  }
  return null;
}
