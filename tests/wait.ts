/**
 * The one way tests wait for state behind another process or an API that sends no event: poll a
 * check, bounded. Where an event exists (an SSE event, the long poll, a frame), tests await that
 * instead; this is for health routes, files, pids and databases.
 * @module
 */

/** Polls `fn` until it returns a truthy value; throws after `ms`, naming `what` and the last error. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  ms = 20_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
