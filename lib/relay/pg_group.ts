/**
 * Group commit of accepts on PostgreSQL (issue 21): the accepts that are ready in one turn of
 * the event loop, from every session of this node, are checked and stored together, mostly in
 * one round trip instead of about fifteen each:
 *
 * 1. the facts their routing checks need (envelope ids, agents, links, pending requests, tasks,
 *    rate windows) come from the node's cache of earlier reads (store/pg_fact_cache.ts), or,
 *    for what it lacks, from `tf_facts_v5`, one statement;
 * 2. the checks (accept.ts) and the write flows (flows.ts) run here on those facts, one accept
 *    after another, each seeing what the earlier ones of the group wrote (store/pg_facts.ts);
 *    a check that needs a fact not read yet sends the group back to step 1 with it added;
 * 3. `tf_accept_group_v5`, one autocommit statement, takes the advisory locks, reads the facts
 *    again and writes every accepted envelope, its deliveries and effects, and the rate counts
 *    only when they are the facts the checks ran on; else it returns what it read (another
 *    node wrote since, or the cache was stale) and the group runs its checks again on that.
 *    A group that writes nothing (every accept refused) was checked on facts read just now.
 *
 * Answers, refusals and pushes run after that statement returns, i.e. after its COMMIT, in
 * the order the accepts entered; a refused accept changes nothing and the others go on. The
 * locks are held only inside the one statement: never while a node waits on the network.
 * Groups of one node run one after another, so a group's checks see the previous group's rows.
 * @module
 */
import { setImmediate } from "node:timers";
import { fail } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { GroupCommit, GroupHint, GroupOutcome, GroupStore } from "./store/group.ts";
import { FactStore } from "./store/pg_facts.ts";
import {
  askAhead,
  FactQuery,
  type Facts,
  MissingFact,
  type WritePlan,
} from "./store/pg_fact_query.ts";
import type { Param } from "./store/flow.ts";
import { FactCache } from "./store/pg_fact_cache.ts";
import { queueLock } from "./store/write_lane.ts";

const log = logger("relay");

/** Rounds (reads) a group may take before its accepts are refused as `unavailable`. */
const MAX_ROUNDS = 8;

/** Runs one statement with parameters; resolves with its rows. */
export type PgExec = (text: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

type Item =
  | {
    fn: (store: GroupStore) => Promise<unknown>;
    hint: GroupHint | undefined;
    after: (outcome: GroupOutcome<unknown>, commitError: unknown) => void;
    done: () => void;
  }
  | { fn: null; answer: () => void; done: () => void };

/** One node's accept groups on PostgreSQL. */
export class PgGroup implements GroupCommit {
  private queue: Item[] = [];
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();
  /**
   * Groups written so far, rounds they took, rounds whose checks asked for a fact not read
   * (what the accepts' hints should have asked ahead) and `tf_facts_v5` reads (tests, benchmarks).
   */
  commits = 0;
  rounds = 0;
  misses = 0;
  reads = 0;
  /** Facts read before, restated to skip a read (store/pg_fact_cache.ts). */
  readonly cache = new FactCache();

  /**
   * `writeExec` runs the write statement (default `exec`): the node runs its statements that
   * insert deliveries one at a time (store/write_lane.ts).
   */
  constructor(
    private readonly exec: PgExec,
    private readonly writeExec: PgExec = exec,
  ) {}

  /**
   * See `GroupCommit.grouped`. `fn` may run more than once (once per round): it must read and
   * write only through its argument. `hint`: the facts it will likely read are read ahead, and
   * its locks taken (without one, its reads cost rounds).
   */
  grouped<T>(
    fn: (store: GroupStore) => Promise<T>,
    after: (outcome: GroupOutcome<T>, commitError: unknown) => void,
    hint?: GroupHint,
  ): Promise<void> {
    return new Promise((done) => {
      this.queue.push({
        fn,
        hint,
        after: after as (outcome: GroupOutcome<unknown>, commitError: unknown) => void,
        done,
      });
      this.schedule();
    });
  }

  /** See `GroupCommit.afterCommit`. */
  afterCommit(answer: () => void): Promise<void> {
    return new Promise((done) => {
      this.queue.push({ fn: null, answer, done });
      this.schedule();
    });
  }

  /**
   * See `GroupCommit.idle`, waiting at most `limitMs`: a group that waits on a lock another
   * node holds must not keep this node from stopping (closing the pool then cuts it off, and
   * its senders are answered `unavailable`; nothing was stored, so they send again).
   */
  idle(limitMs = 1_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, limitMs));
    return Promise.race([this.afterCommit(() => {}), late]).finally(() => clearTimeout(timer));
  }

  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.running = this.running.then(() => {
        this.scheduled = false;
        return this.flush(this.queue.splice(0));
      });
    });
  }

  /** Checks and writes one group, then answers its items in order. */
  private async flush(items: Item[]) {
    const work = items.flatMap((i) => i.fn ? [i] : []);
    const query = new FactQuery();
    for (const w of work) if (w.hint) askAhead(query, w.hint);
    let outcomes: GroupOutcome<unknown>[] = [];
    let commitError: unknown = undefined;
    // Facts the last write read under its locks (they differed from those it was given).
    let fresh: Facts | null = null;
    let mustRead = false;
    try {
      for (let round = 1;; round++) {
        if (round > MAX_ROUNDS) throw fail("unavailable", "the relay is busy; send again");
        this.rounds++;
        if (work.length === 0) break;
        const kept = fresh ?? (mustRead ? null : this.cache.facts(query.body));
        const facts = kept ?? await this.read(query);
        fresh = null;
        const store = new FactStore(facts, query);
        outcomes = [];
        for (const w of work) outcomes.push(await this.check(store, w.fn));
        if (store.missed) {
          this.misses++;
          continue;
        }
        if (store.plan.writes.length === 0) {
          // Nothing to write checks nothing: refusals are answered on facts read just now.
          if (kept) {
            mustRead = true;
            continue;
          }
          break;
        }
        const written = await this.write(query, facts, store);
        if ("facts" in written) {
          this.cache.keep(query.body, fresh = written.facts);
          continue;
        }
        store.queued.forEach((q, i) => q.seq = written.seqs[i]!);
        this.cache.wrote(store.plan);
        this.commits++;
        break;
      }
    } catch (err) {
      commitError = err ?? new Error("the accept group failed");
    }
    for (const item of items) {
      try {
        if (!item.fn) item.answer();
        else item.after(outcomes.shift() ?? { ok: false, error: commitError }, commitError);
      } catch (err) {
        log.error("after-commit callback failed", { err });
      } finally {
        item.done();
      }
    }
  }

  private async check(
    store: FactStore,
    fn: (store: GroupStore) => Promise<unknown>,
  ): Promise<GroupOutcome<unknown>> {
    store.begin();
    try {
      const value = await fn(store);
      store.commit();
      return { ok: true, value };
    } catch (error) {
      store.rollback();
      // A missing fact is not a refusal: the round is run again with it read.
      return { ok: false, error: error instanceof MissingFact ? fail("unavailable") : error };
    }
  }

  private async read(query: FactQuery): Promise<Facts> {
    this.reads++;
    const rows = await this.exec("SELECT tf_facts_v5($1::text::jsonb) AS f", [
      JSON.stringify(query.body),
    ]);
    const facts = rows[0]!.f as Facts;
    this.cache.keep(query.body, facts);
    return facts;
  }

  /** The write: the deliveries' seqs, or the facts it read when they were not `facts`. */
  private async write(query: FactQuery, facts: Facts, store: FactStore) {
    // Envelope rows and deliveries apart from the rarer writes (see pg_functions.ts).
    const envelopes: Record<string, Param | undefined>[] = [];
    const deliveries: Param[][] = [];
    const writes: WritePlan["writes"] = [];
    for (const w of store.plan.writes) {
      const [name, ...p] = w;
      if (name === "envelopeAdd") {
        const [id, sender_client, from_handle, recipients, type, body, accepted_at] = p;
        envelopes.push({ id, sender_client, from_handle, recipients, type, body, accepted_at });
      } else if (name === "deliveryAdd") deliveries.push(p);
      else writes.push(w);
    }
    // The recipients' queues too: rows another node queues for them commit before or after
    // these, in seq order (store/write_lane.ts).
    const queues = new Set(deliveries.map((d) => queueLock(String(d[0]))));
    const req = { ...query.body, locks: [...query.body.locks, ...queues] };
    const rows = await this.writeExec(
      `SELECT tf_accept_group_v5($1::text::jsonb, $2::text::jsonb, $3::text::jsonb,
        $4::text::json) AS r`,
      [
        JSON.stringify(req),
        JSON.stringify(facts),
        JSON.stringify({ deliveries, writes, rates: store.plan.rates }),
        JSON.stringify(envelopes),
      ],
    );
    return rows[0]!.r as { seqs: number[] } | { facts: Facts };
  }
}
