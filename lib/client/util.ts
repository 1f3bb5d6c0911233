/** Small pure helpers shared inside the daemon (each rule written once). */
import { createHash } from "node:crypto";

/** Hex SHA-256 (synchronous, for use inside SQLite transactions). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A promise-chain mutex: runs `fn` after everything queued before it. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` exclusively. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => {});
    return result;
  }
}
