/**
 * The relay store's logic, once for both SQL dialects (the ntfy pattern: logic once, SQL per
 * dialect). Each method runs a flow from flows.ts; a dialect only says how a flow runs: alone,
 * or atomically in one transaction.
 * @module
 */
import type { Permissions } from "../../protocol/mod.ts";
import type {
  AcceptEffects,
  AgentRecord,
  EnvelopeRow,
  InviteRecord,
  RelaySettingKey,
  RelayStore,
} from "../store.ts";
import type { Flow } from "./flow.ts";
import * as flows from "./flows.ts";

/** A relay store over SQL: the dialect supplies {@link run}, {@link atomic} and `close`. */
export abstract class SqlRelayStore implements RelayStore {
  /** Runs a flow of one statement (no transaction needed). */
  protected abstract run<T>(flow: Flow<T>): Promise<T>;
  /**
   * Runs a flow in one transaction: all of it is written or none of it. `batchable` flows may
   * share a commit with others of the same moment (SQLite group commit).
   */
  protected abstract atomic<T>(flow: Flow<T>, batchable?: boolean): Promise<T>;
  abstract close(): Promise<void>;

  addClient(id: string, tokenHash: string, now: number) {
    return this.run(flows.addClient(id, tokenHash, now));
  }
  getClient(id: string) {
    return this.run(flows.getClient(id));
  }
  listClients() {
    return this.run(flows.listClients());
  }
  clientsLastSeen() {
    return this.run(flows.clientsLastSeen());
  }
  revokeClient(id: string, now: number) {
    return this.run(flows.revokeClient(id, now));
  }
  setClientToken(id: string, tokenHash: string) {
    return this.run(flows.setClientToken(id, tokenHash));
  }

  getAgent(handle: string) {
    return this.run(flows.getAgent(handle));
  }
  putAgent(agent: AgentRecord) {
    return this.run(flows.putAgent(agent));
  }
  countClientAgents(clientId: string) {
    return this.run(flows.countClientAgents(clientId));
  }
  listPublicAgents(limit: number) {
    return this.run(flows.listPublicAgents(limit));
  }

  createInvite(invite: InviteRecord) {
    return this.run(flows.createInvite(invite));
  }
  getInvite(code: string) {
    return this.run(flows.getInvite(code));
  }
  revokeInvite(code: string) {
    return this.run(flows.revokeInvite(code));
  }
  useInvite(code: string, clientId: string, now: number) {
    return this.atomic(flows.useInvite(code, clientId, now));
  }
  hasGrant(clientId: string, agent: string) {
    return this.run(flows.hasGrant(clientId, agent));
  }

  getLink(sender: string, recipient: string) {
    return this.run(flows.getLink(sender, recipient));
  }
  setLinkPermissions(sender: string, recipient: string, permissions: Permissions) {
    return this.run(flows.setLinkPermissions(sender, recipient, permissions));
  }
  clientLinkedTo(clientId: string, agent: string) {
    return this.run(flows.clientLinkedTo(clientId, agent));
  }
  getPending(from: string, to: string) {
    return this.run(flows.getPending(from, to));
  }
  hasPendingTo(agent: string, clientId: string) {
    return this.run(flows.hasPendingTo(agent, clientId));
  }

  getTask(id: string) {
    return this.run(flows.getTask(id));
  }
  countOpenTasks(requester: string, worker: string) {
    return this.run(flows.countOpenTasks(requester, worker));
  }

  envelopeExists(id: string) {
    return this.run(flows.envelopeExists(id));
  }
  acceptEnvelope(envelope: EnvelopeRow, recipientClients: string[], effects: AcceptEffects) {
    return this.atomic(flows.acceptEnvelope(envelope, recipientClients, effects));
  }
  pendingDeliveries(clientId: string, afterSeq: number, limit: number) {
    return this.run(flows.pendingDeliveries(clientId, afterSeq, limit));
  }
  ackDelivery(clientId: string, seq: number, now: number) {
    // Acks come in bursts and nobody reads their rows back at once: a shared commit is fine.
    return this.atomic(flows.ackDelivery(clientId, seq, now), true);
  }
  noteAttempt(clientId: string, seq: number) {
    return this.run(flows.noteAttempt(clientId, seq));
  }
  failExpired(before: number, now: number) {
    return this.atomic(flows.failExpired(before, now));
  }
  prune(before: number) {
    return this.atomic(flows.prune(before));
  }
  stats() {
    return this.run(flows.stats());
  }

  getSetting(key: RelaySettingKey) {
    return this.run(flows.getSetting(key));
  }
  setSetting(key: RelaySettingKey, value: string, now: number) {
    return this.run(flows.setSetting(key, value, now));
  }
}
