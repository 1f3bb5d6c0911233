/**
 * A relay as its own process (`deno run -A main.ts relay`) for the tests that measure it from
 * outside: resident set size from /proc/<pid>/status, clients written straight into its
 * database (what `relay add-client` does).
 * @module
 */
import { generateToken, hashToken, openSqliteRelayStore } from "../../lib/relay/mod.ts";
import { RelayProc } from "../e2e/faults/procs.ts";

export const MB = 1024 * 1024;

/** The resident set size of `pid`, in bytes. */
export function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Bytes as MB with one decimal. */
export const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** A relay child process with a fresh home; `fn` runs against it; always cleaned up. */
export async function withRelayProcess(
  fn: (relay: RelayProc) => Promise<void>,
  env: Record<string, string> = {},
) {
  const root = await Deno.makeTempDir({ prefix: "tf-bounds-" });
  const relay = new RelayProc(root, env);
  try {
    await relay.up();
    await fn(relay);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await relay.tail()}`, { cause: err });
  } finally {
    await relay.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** Adds clients straight into the relay's database (what `relay add-client` does). */
export async function addClients(dbPath: string, ids: string[]): Promise<string[]> {
  const store = openSqliteRelayStore(dbPath);
  try {
    const tokens = [];
    for (const id of ids) {
      const token = generateToken(id);
      await store.addClient(id, await hashToken(token), Date.now());
      tokens.push(token);
    }
    return tokens;
  } finally {
    await store.close();
  }
}
