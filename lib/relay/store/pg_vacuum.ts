/**
 * Vacuums the PostgreSQL store's churning tables while the node writes them (issue 21, fifth
 * pass). Every accept group adds to a few `rate_windows` rows and every ack batch updates
 * `client_acks` and deletes `deliveries` rows: the same few rows get a new version many times a
 * second, and until a vacuum removes the old versions every look-up walks past them. Autovacuum
 * visits a database once a minute (`autovacuum_naptime`); in a 30,000-envelope run it never
 * came, and the accept statement's time per envelope grew from 59 to 135 µs and the ack's from
 * 25 to 105 µs: a node sustained 3,400 envelopes/s against 5,000 in short runs. Vacuumed every
 * second, the same run held 6,200/s (docs/benchmarks.md, fifth pass).
 *
 * So each node, once a second, vacuums `rate_windows` and `client_acks` (a few dozen rows: a
 * millisecond) when it wrote them, and `deliveries` after deleting a tenth of its rows (at least
 * {@link DELIVERIES_DEAD_ROWS}), so a table holding a large backlog is not scanned every second.
 * `SKIP_LOCKED`: a table another node is vacuuming is skipped, not waited for. A role that does
 * not own the tables gets a warning from PostgreSQL and no vacuum; autovacuum still runs.
 * @module
 */
import { logger } from "../../log.ts";

const log = logger("relay");

/** How often a node looks at what it wrote. */
export const VACUUM_EVERY_MS = 1_000;
/** Fewest deleted `deliveries` rows that make a vacuum of it worth its scan. */
export const DELIVERIES_DEAD_ROWS = 5_000;
/** ... or this share of its rows, when more (a table holding a backlog). */
const DELIVERIES_SHARE = 0.1;

/** Runs one statement without parameters, outside a transaction; resolves with its rows. */
export type VacuumExec = (text: string) => Promise<readonly Record<string, unknown>[]>;

/** What the node wrote so far (monotonic counters). */
export interface WriteCounts {
  /** Statements that wrote `rate_windows` or `client_acks` (accept groups, ack batches). */
  writes(): number;
  /** `deliveries` rows deleted (acks). */
  deleted(): number;
}

/** One node's vacuums of its churning tables. */
export class PgVacuum {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #writes = 0;
  #deleted = 0;
  #threshold = DELIVERIES_DEAD_ROWS;
  /** VACUUM statements run (tests, benchmarks). */
  vacuums = 0;

  constructor(private readonly exec: VacuumExec, private readonly counts: WriteCounts) {}

  /** Looks every `everyMs` (idempotent). */
  start(everyMs = VACUUM_EVERY_MS) {
    this.#timer ??= setInterval(() => void this.tick(), everyMs);
  }

  /** Stops looking (a running vacuum finishes). */
  stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Vacuums what was written since the last look, if anything; one vacuum at a time. */
  async tick(): Promise<void> {
    if (this.#running) return;
    const writes = this.counts.writes();
    const deleted = this.counts.deleted();
    const tables = writes !== this.#writes ? ["rate_windows", "client_acks"] : [];
    const deliveries = deleted - this.#deleted >= this.#threshold;
    if (deliveries) tables.push("deliveries");
    if (tables.length === 0) return;
    this.#running = true;
    this.#writes = writes;
    if (deliveries) this.#deleted = deleted;
    try {
      await this.exec(`VACUUM (SKIP_LOCKED) ${tables.join(", ")}`);
      this.vacuums++;
      if (deliveries) {
        const [row] = await this.exec(
          "SELECT reltuples FROM pg_class WHERE oid = 'deliveries'::regclass",
        );
        const rows = Math.max(0, Number(row?.reltuples ?? 0));
        this.#threshold = Math.max(DELIVERIES_DEAD_ROWS, Math.round(DELIVERIES_SHARE * rows));
      }
    } catch (err) {
      log.warn("vacuum failed", { err, tables });
    } finally {
      this.#running = false;
    }
  }
}
