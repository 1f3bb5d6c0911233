/**
 * The routing checks of a PostgreSQL accept group, run in TypeScript on facts read in one round
 * trip (lib/relay/pg_group.ts). The checks (accept.ts) and the writes (flows.ts) stay the one
 * home of the rules: this store answers their reads from the facts, plus what the group's
 * earlier accepts wrote, and records the statements their flows yield instead of running
 * them. A read the facts do not hold throws {@link MissingFact} and is added to the next
 * request; the group then reads again and runs its checks from the start.
 * @module
 */
import { handleOwner, type Permissions, TERMINAL_STATES } from "../../protocol/mod.ts";
import type { AcceptEffects, AgentRecord, ClientRecord, EnvelopeRow, RelayTask } from "../store.ts";
import type { Flow, Param, Row, Step } from "./flow.ts";
import * as flows from "./flows.ts";
import type { GroupStore } from "./group.ts";
import {
  type FactQuery,
  type FactRequest,
  type Facts,
  key,
  type ListName,
  MissingFact,
  RATE_WINDOW_MS,
  type WritePlan,
} from "./pg_fact_query.ts";
import { rateOver, rateWindow, toAgent, toClient, toPermissions, toTask } from "./rules.ts";

/**
 * The store an accept group's checks see: facts plus the group's accepted writes. One accept
 * at a time: {@link begin}, the checks and flows, then {@link commit} (accepted) or
 * {@link rollback} (refused: nothing of it stays).
 */
export class FactStore implements GroupStore {
  readonly plan: WritePlan = { writes: [], rates: [] };
  /** The delivery results the write must fill in (seq), in the order of `deliveryAdd`. */
  readonly queued: { client_id: string; seq: number }[] = [];
  /** Set when a read missed: the group reads again. */
  missed = false;
  private readonly ids = new Set<string>();
  private readonly links = new Map<string, Permissions>();
  private readonly linked = new Set<string>();
  private readonly pending = new Map<string, string | null>();
  private readonly tasks = new Map<string, RelayTask | null>();
  private readonly open = new Map<string, number>();
  private readonly rates = new Map<string, number>();
  private stage: { writes: WritePlan["writes"]; rates: [string, number][]; apply: (() => void)[] } =
    { writes: [], rates: [], apply: [] };

  private readonly agents = new Map<string, Row>();
  private readonly clients = new Map<string, Row>();
  private readonly known: Set<string>;
  private readonly grants: Set<string>;

  constructor(facts: Facts, private readonly query: FactQuery) {
    // Each answer belongs to the item at its position in the list asked for.
    const asked = query.body;
    facts.agents.forEach((a, i) => a && this.agents.set(asked.agents[i]!, a));
    facts.clients.forEach((c, i) => c && this.clients.set(asked.clients[i]!, c));
    this.known = new Set(facts.ids);
    this.grants = new Set();
    facts.grants.forEach((g, i) => g && this.grants.add(key(...asked.grants[i]!)));
    facts.linked.forEach((l, i) => l && this.linked.add(key(...asked.linked[i]!)));
    facts.links.forEach((p, i) => {
      if (p !== null) this.links.set(key(...asked.links[i]!), toPermissions({ permissions: p }));
    });
    facts.pending.forEach((id, i) =>
      id !== null && this.pending.set(key(...asked.pending[i]!), id)
    );
    for (const [f, t, id] of facts.pending_to.flat()) this.pending.set(key(f, t), id);
    facts.tasks.forEach((t, i) => t && this.tasks.set(asked.tasks[i]!, toTask(t)));
    facts.open.forEach((n, i) => this.open.set(key(...asked.open[i]!), Number(n)));
    facts.rates.forEach((n, i) => this.rates.set(key(...asked.rates[i]!), Number(n)));
  }

  /**
   * Asks for a fact the read did not hold, and rejects: a rejection (not a throw) lets reads
   * started together each ask for theirs, so one more round reads them all.
   */
  private miss<K extends ListName>(name: K, item: FactRequest[K][number]): Promise<never> {
    this.query.ask(name, item);
    this.missed = true;
    return Promise.reject(new MissingFact(`${name} not read`));
  }

  private asked(name: ListName, ...item: string[]) {
    return this.query.has(name, ...item);
  }

  /** Starts the checks of one accept. */
  begin() {
    this.stage = { writes: [], rates: [], apply: [] };
  }

  /** Keeps the accept's writes (it was accepted). */
  commit() {
    this.plan.writes.push(...this.stage.writes);
    for (const [k, start] of this.stage.rates) {
      const r = this.plan.rates.find(([pk, ps]) => pk === k && ps === start);
      if (r) r[2]++;
      else this.plan.rates.push([k, start, 1]);
      this.rates.set(key(k, start), (this.rates.get(key(k, start)) ?? 0) + 1);
    }
    for (const apply of this.stage.apply) apply();
    this.begin();
  }

  /** Drops the accept's writes (it was refused). */
  rollback() {
    this.begin();
  }

  envelopeExists(id: string) {
    if (this.ids.has(id) || this.known.has(id)) return Promise.resolve(true);
    if (!this.asked("ids", id)) return this.miss("ids", id);
    return Promise.resolve(false);
  }

  getAgent(handle: string): Promise<AgentRecord | null> {
    if (!this.asked("agents", handle)) return this.miss("agents", handle);
    const r = this.agents.get(handle);
    return Promise.resolve(r ? toAgent(r) : null);
  }

  getClient(id: string): Promise<ClientRecord | null> {
    if (!this.asked("clients", id)) return this.miss("clients", id);
    const r = this.clients.get(id);
    return Promise.resolve(r ? toClient(r) : null);
  }

  clientLinkedTo(clientId: string, agent: string) {
    if (this.linked.has(key(clientId, agent))) return Promise.resolve(true);
    if (!this.asked("linked", clientId, agent)) return this.miss("linked", [clientId, agent]);
    return Promise.resolve(false);
  }

  hasGrant(clientId: string, agent: string) {
    if (!this.asked("grants", clientId, agent)) return this.miss("grants", [clientId, agent]);
    return Promise.resolve(this.grants.has(key(clientId, agent)));
  }

  hasPendingTo(agent: string, clientId: string) {
    if (!this.asked("pending_to", agent, clientId)) {
      return this.miss("pending_to", [agent, clientId]);
    }
    for (const [k, id] of this.pending) {
      const [f, t] = k.split("\n") as [string, string];
      if (id !== null && f === agent && handleOwner(t) === clientId) return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  getLink(sender: string, recipient: string) {
    const link = this.links.get(key(sender, recipient));
    if (!link && !this.asked("links", sender, recipient)) {
      return this.miss("links", [sender, recipient]);
    }
    return Promise.resolve(link ?? null);
  }

  getPending(from: string, to: string) {
    const k = key(from, to);
    if (!this.pending.has(k) && !this.asked("pending", from, to)) {
      return this.miss("pending", [from, to]);
    }
    const id = this.pending.get(k);
    return Promise.resolve(id ? { request_id: id } : null);
  }

  getTask(id: string) {
    if (!this.tasks.has(id) && !this.asked("tasks", id)) return this.miss("tasks", id);
    return Promise.resolve(this.tasks.get(id) ?? null);
  }

  countOpenTasks(requester: string, worker: string) {
    const n = this.open.get(key(requester, worker));
    if (n === undefined) return this.miss("open", [requester, worker]);
    return Promise.resolve(n);
  }

  /** The shared rate limits of the group (see RateCheck in accept.ts). */
  takeRates(keys: [string, number][], now: number): string | null {
    const { start, previous, weight } = rateWindow(now, RATE_WINDOW_MS);
    const count = (k: string, s: number) => {
      const n = this.rates.get(key(k, s));
      if (n !== undefined) return n;
      // Synchronous (the rate check is): both windows asked for, then a throw.
      this.query.ask("rates", [k, start]);
      this.query.ask("rates", [k, previous]);
      this.missed = true;
      throw new MissingFact("rates not read");
    };
    for (const [k, limit] of keys) {
      if (rateOver(count(k, start), count(k, previous), weight, limit)) return k;
    }
    for (const [k] of keys) {
      this.stage.rates.push([k, start]);
      // Not a fact: the write locks the key, so two nodes count it one after the other.
      this.query.ask("locks", `rate:${k}`);
    }
    return null;
  }

  insertEnvelope(e: EnvelopeRow) {
    return Promise.resolve(this.record(flows.insertEnvelope(e)));
  }

  queueEnvelope(e: EnvelopeRow, recipientClients: string[], effects: AcceptEffects) {
    const queued = this.record(flows.queueEnvelope(e, recipientClients, effects));
    this.stage.apply.push(() => {
      this.ids.add(e.id);
      this.queued.push(...queued);
    });
    return Promise.resolve(queued);
  }

  /** Runs a write flow, recording its statements; keeps what later checks must see. */
  private record<T>(flow: Flow<T>): T {
    let next = flow.next();
    while (!next.done) next = flow.next(this.step(next.value));
    return next.value;
  }

  private step(s: Step): Row[] | number {
    this.stage.writes.push([s.name, ...s.params]);
    const p = s.params.map(String);
    switch (s.name) {
      case "envelopeAdd":
        if (this.ids.has(p[0]!) || this.known.has(p[0]!)) return 0;
        if (!this.asked("ids", p[0]!)) {
          this.query.ask("ids", p[0]!);
          this.missed = true;
          throw new MissingFact("ids not read");
        }
        return 1;
      case "deliveryAdd":
        return [{ seq: 0 }];
      case "pendingPut":
        this.stage.apply.push(() => this.pending.set(key(p[0]!, p[1]!), p[2]!));
        return 1;
      case "pendingDelete":
        this.stage.apply.push(() => this.pending.set(key(p[0]!, p[1]!), null));
        return 1;
      case "linkAdd":
        this.stage.apply.push(() => {
          const k = key(p[0]!, p[1]!);
          if (!this.links.has(k)) this.links.set(k, toPermissions({ permissions: p[2] }));
          this.linked.add(key(handleOwner(p[0]!), p[1]!));
        });
        return 1;
      case "taskPut":
        this.stage.apply.push(() => this.putTask(s.params));
        return 1;
      default:
        throw new Error(`an accept group cannot run ${s.name}`);
    }
  }

  /** A stored task as a read would return it; moves its open count from old to new parties. */
  private putTask(params: Param[]) {
    const [id, requester, worker, state, snapshot] = params.map(String) as string[];
    const before = this.tasks.get(id!);
    const isOpen = (s: string) => !TERMINAL_STATES.includes(s as typeof TERMINAL_STATES[number]);
    const move = (r: string, w: string, by: number) => {
      const k = key(r, w);
      const n = this.open.get(k);
      // An unread count is a miss when asked for: the group then runs again from the start
      // with it read, and this move applies to it.
      if (n !== undefined) this.open.set(k, n + by);
    };
    if (before && isOpen(before.snapshot.state)) move(before.requester, before.worker, -1);
    if (isOpen(state!)) move(requester!, worker!, 1);
    this.tasks.set(id!, toTask({ id, requester, worker, snapshot }));
  }
}
