/**
 * A fault-injection world of real processes: one relay, alice's and bob's daemons (each
 * optionally behind a {@link FaultProxy}), agents @alice/requester and @bob/writer connected
 * with rate and open-task limits high enough for the run.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { DaemonProc, RelayProc, until } from "./procs.ts";
import { FaultProxy } from "./proxy.ts";

export const ALICE = "@alice/requester";
export const BOB = "@bob/writer";

/** Permissions both sides grant so that a run of N items is never rate-limited. */
export const RUN_PERMISSIONS = { max_rate_per_minute: 100_000, max_open_tasks: 10_000 };

/** Reads a database file of a running process through a separate read-only connection. */
export function readDb<T>(path: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    return fn(db);
  } finally {
    db.close();
  }
}

/** The world. */
export class FaultWorld {
  proxyA: FaultProxy | null = null;
  proxyB: FaultProxy | null = null;
  /** Bob's inbox cursor once the connection was set up (items after it belong to the run). */
  cursor = 0;

  private constructor(
    readonly root: string,
    readonly relay: RelayProc,
    readonly alice: DaemonProc,
    readonly bob: DaemonProc,
  ) {}

  /** Starts everything; `proxies` puts a {@link FaultProxy} between each daemon and the relay. */
  static async start(opts: { proxies?: boolean; name?: string } = {}): Promise<FaultWorld> {
    const root = await Deno.makeTempDir({ prefix: `tf-faults-${opts.name ?? "run"}-` });
    const relay = new RelayProc(root);
    let world: FaultWorld | null = null;
    try {
      await relay.up();
      const [aliceToken, bobToken] = await Promise.all([
        relay.addClient("alice"),
        relay.addClient("bob"),
      ]);
      let proxyA: FaultProxy | null = null;
      let proxyB: FaultProxy | null = null;
      if (opts.proxies) {
        proxyA = new FaultProxy(relay.port);
        proxyB = new FaultProxy(relay.port);
      }
      const alice = new DaemonProc(root, "alice", proxyA?.url ?? relay.url, aliceToken);
      const bob = new DaemonProc(root, "bob", proxyB?.url ?? relay.url, bobToken);
      world = new FaultWorld(root, relay, alice, bob);
      world.proxyA = proxyA;
      world.proxyB = proxyB;
      await Promise.all([alice.up(), bob.up()]);
      await alice.api.createAgent({ handle: ALICE });
      await bob.api.createAgent({ handle: BOB, public: true });
      await until(
        "agents registered",
        async () =>
          (await alice.api.agents()).every((a) => a.registered) &&
          (await bob.api.agents()).every((a) => a.registered),
      );
      await alice.api.connect({ from: ALICE, to: BOB, permissions: RUN_PERMISSIONS });
      await bob.api.waitForInbox(BOB, (m) => m.type === "connection_request");
      await bob.api.acceptConnection(ALICE, { permissions: RUN_PERMISSIONS });
      await alice.api.waitForInbox(ALICE, (m) => m.type === "connection_accept");
      // Both owners' permissions must have reached the relay before the run starts.
      await until("permissions at the relay", () =>
        Promise.resolve(readDb(relay.dbPath, (db) => {
          const rows = db.prepare("SELECT permissions FROM links").all() as {
            permissions: string;
          }[];
          return rows.length === 2 &&
            rows.every((r) => JSON.parse(r.permissions).max_rate_per_minute === 100_000);
        })));
      world.cursor = (await bob.api.inbox({ agent: BOB, after: "latest" })).next_after;
      return world;
    } catch (err) {
      if (world) await world.close();
      else {
        await relay.stop();
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
      throw err;
    }
  }

  /** Log tails of every process (for failure messages). */
  async logs(): Promise<string> {
    const parts = [];
    for (const p of [this.relay, this.alice, this.bob]) {
      parts.push(`==== ${p.name}\n${await p.tail(40)}`);
    }
    return parts.join("\n");
  }

  /** Stops everything and removes the temp dir (kept when `keep` or TASKFERRY_KEEP is set). */
  async close(keep = false) {
    await Promise.all([this.alice.stop(), this.bob.stop()]);
    await this.relay.stop();
    await this.proxyA?.close();
    await this.proxyB?.close();
    if (keep || Deno.env.get("TASKFERRY_KEEP")) {
      console.error(`fault world kept in ${this.root}`);
      return;
    }
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
