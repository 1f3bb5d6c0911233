/**
 * Client, agent and link rows cached in the relay's memory (SQLite: one relay per database). The
 * relay read `clients` four times, `agents` twice and `links` once per envelope (issue 21); all
 * change rarely, and a change must still be seen at once:
 *
 * - this process's own writes to these tables clear the cache when they run (the store calls
 *   {@link RowCache.clear} from its statement runner, synchronously, before anyone can read);
 * - writes by another process (`taskferry relay revoke-client`, `rotate-token` on the same
 *   file) change `PRAGMA data_version`, which is read at most once per event-loop turn: the
 *   first look-up in a turn after such a commit finds the cache cleared and reads the row.
 * @module
 */
import { setImmediate } from "node:timers";
import { type DatabaseSync, get } from "../../store/mod.ts";
import type { Permissions } from "../../protocol/mod.ts";
import type { AgentRecord, ClientRecord } from "../store.ts";

/** Rows kept per table; past it the table's cache starts over (bounds memory). */
const MAX_ROWS = 10_000;

/** The cache; `undefined` from a look-up means "not cached", `null` "no such row". */
export class RowCache {
  private readonly clients = new Map<string, ClientRecord | null>();
  private readonly agents = new Map<string, AgentRecord | null>();
  /** By `sender + "\n" + recipient` (a newline is in no handle). */
  private readonly links = new Map<string, Readonly<Permissions> | null>();
  private version = Number.NaN;
  /** data_version was read in this turn of the event loop. */
  private checked = false;
  hits = 0;
  misses = 0;

  constructor(private readonly db: DatabaseSync) {}

  /** The cached client `id`, if any. */
  client(id: string): ClientRecord | null | undefined {
    this.validate();
    return this.count(this.clients.get(id));
  }

  /** The cached agent `handle`, if any. */
  agent(handle: string): AgentRecord | null | undefined {
    this.validate();
    return this.count(this.agents.get(handle));
  }

  /** The cached permissions of the link sender → recipient, if any. */
  link(sender: string, recipient: string): Readonly<Permissions> | null | undefined {
    this.validate();
    return this.count(this.links.get(`${sender}\n${recipient}`));
  }

  /** Caches a link just read, frozen: every reader shares it. */
  putLink(sender: string, recipient: string, permissions: Permissions | null) {
    if (this.links.size >= MAX_ROWS) this.links.clear();
    this.links.set(`${sender}\n${recipient}`, permissions && Object.freeze(permissions));
  }

  /** Caches a client row just read (call in the same synchronous step as the read). */
  putClient(id: string, row: ClientRecord | null) {
    if (this.clients.size >= MAX_ROWS) this.clients.clear();
    this.clients.set(id, row);
  }

  /** Caches an agent row just read (call in the same synchronous step as the read). */
  putAgent(handle: string, row: AgentRecord | null) {
    if (this.agents.size >= MAX_ROWS) this.agents.clear();
    this.agents.set(handle, row);
  }

  /** Forgets everything (this process wrote a client, agent or link row). */
  clear() {
    this.clients.clear();
    this.agents.clear();
    this.links.clear();
  }

  private count<T>(value: T | undefined): T | undefined {
    if (value === undefined) this.misses++;
    else this.hits++;
    return value;
  }

  /** Clears the cache when another connection committed since the last look. */
  private validate() {
    if (this.checked) return;
    const v = Number(get<{ data_version: number }>(this.db, "PRAGMA data_version")?.data_version);
    if (v !== this.version) {
      this.version = v;
      this.clear();
    }
    this.checked = true;
    setImmediate(() => this.checked = false);
  }
}
