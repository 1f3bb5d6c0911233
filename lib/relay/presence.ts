/**
 * Presence (design §13): which agents have a live session, told to connected peers only.
 * A session announces its own agents and the peers it watches (`presence` client frame); the
 * relay keeps an announced agent only when the session's client owns it, and a watch only when
 * the client has a connection to the watched agent (re-checked before every frame it sends),
 * so presence never reaches the public or a client without a connection. State is in memory,
 * rebuilt as sessions announce themselves again; relay nodes sharing a PostgreSQL database tell
 * each other their sessions' changes (`ClusterStore.notifyPresence`).
 */
import type { PresenceFrame } from "../protocol/mod.ts";
import type { ClusterStore, RelayStore } from "./store.ts";

/** The part of a session presence needs. */
export interface PresenceSession {
  readonly clientId: string;
  send(frame: PresenceFrame): boolean;
}

/** What one node tells the others: an agent of one of its sessions came or went. */
interface NodeReport {
  node: string;
  agent: string;
  online: boolean;
  at: number;
}

/** Online agents and who watches them. */
export class Presence {
  /** Agent → the local session that announced it online. */
  private readonly online = new Map<string, PresenceSession>();
  /** Agent → the other relay nodes where it is online. */
  private readonly remote = new Map<string, Set<string>>();
  /** Agent → when it last went away (ms). */
  private readonly lastSeen = new Map<string, number>();
  /** Session → its announced agents and its watch list. */
  private readonly scopes = new Map<PresenceSession, { agents: string[]; watch: Set<string> }>();
  /**
   * Sessions that ended. A `presence` frame is checked against the store before it applies, and
   * the session may end meanwhile: applied after {@link left}, it would keep the session's
   * agents online for good (the likely cause of a CI failure: a peer stayed online after its
   * daemon stopped).
   */
  private readonly ended = new WeakSet<PresenceSession>();

  constructor(
    private readonly store: RelayStore,
    private readonly nodeId = "",
    private readonly now = Date.now,
  ) {}

  /** Applies a session's `presence` frame: announces its agents, answers its watch list. */
  async announce(session: PresenceSession, frame: { agents: string[]; watch: string[] }) {
    const agents: string[] = [];
    for (const handle of new Set(frame.agents)) {
      if ((await this.store.getAgent(handle))?.client_id === session.clientId) agents.push(handle);
    }
    const watch = new Set<string>();
    for (const handle of new Set(frame.watch)) {
      if (await this.store.clientLinkedTo(session.clientId, handle)) watch.add(handle);
    }
    if (this.ended.has(session)) return;
    // The state changes at once, with no await in between, so a `left` that comes during the
    // reports below finds every agent of this frame and takes each away.
    const before = this.scopes.get(session)?.agents ?? [];
    this.scopes.set(session, { agents, watch });
    const gone = before.filter((agent) => !agents.includes(agent));
    const came = agents.map((agent) => {
      const change = { agent, first: !this.online.has(agent), wasOnline: this.isOnline(agent) };
      this.online.set(agent, session);
      return change;
    });
    for (const agent of gone) await this.away(agent, session);
    for (const { agent, first, wasOnline } of came) {
      // Ended meanwhile: `left` told the other nodes these agents went; do not undo that.
      if (this.ended.has(session)) return;
      if (first) await this.publish(agent, true);
      if (!wasOnline) await this.tell(agent);
    }
    for (const agent of watch) session.send(this.frame(agent));
  }

  /** A session ended: its agents go away (unless a newer session announced them already). */
  async left(session: PresenceSession) {
    this.ended.add(session);
    const scope = this.scopes.get(session);
    this.scopes.delete(session);
    for (const agent of scope?.agents ?? []) await this.away(agent, session);
  }

  /** Follows the other nodes' reports; returns how to stop (null without a cluster). */
  async follow(cluster: ClusterStore | undefined): Promise<(() => Promise<void>) | null> {
    if (!cluster?.listenPresence) return null;
    return await cluster.listenPresence((payload) => {
      this.fromNode(payload).catch(() => {});
    });
  }

  private isOnline(agent: string): boolean {
    return this.online.has(agent) || (this.remote.get(agent)?.size ?? 0) > 0;
  }

  private async away(agent: string, session: PresenceSession) {
    if (this.online.get(agent) !== session) return;
    this.online.delete(agent);
    this.lastSeen.set(agent, this.now());
    await this.publish(agent, false);
    if (!this.isOnline(agent)) await this.tell(agent);
  }

  private async publish(agent: string, online: boolean) {
    const report: NodeReport = { node: this.nodeId, agent, online, at: this.now() };
    await this.store.cluster?.notifyPresence?.(JSON.stringify(report)).catch(() => {});
  }

  /** Another node's report. Per node, reports arrive in order (one notifying connection). */
  private async fromNode(payload: string) {
    const r = JSON.parse(payload) as NodeReport;
    if (r.node === this.nodeId || typeof r.agent !== "string") return;
    const wasOnline = this.isOnline(r.agent);
    const nodes = this.remote.get(r.agent) ?? new Set<string>();
    if (r.online) nodes.add(r.node);
    else {
      nodes.delete(r.node);
      this.lastSeen.set(r.agent, r.at);
    }
    if (nodes.size) this.remote.set(r.agent, nodes);
    else this.remote.delete(r.agent);
    if (wasOnline !== this.isOnline(r.agent)) await this.tell(r.agent);
  }

  private frame(agent: string): PresenceFrame {
    const online = this.isOnline(agent);
    const seen = online ? this.now() : this.lastSeen.get(agent);
    return {
      type: "presence",
      agent,
      online,
      last_seen: seen === undefined ? null : new Date(seen).toISOString(),
    };
  }

  /** Tells every local session watching `agent`, after checking its connection again. */
  private async tell(agent: string) {
    const frame = this.frame(agent);
    for (const [session, scope] of this.scopes) {
      if (!scope.watch.has(agent)) continue;
      if (await this.store.clientLinkedTo(session.clientId, agent)) session.send(frame);
      else scope.watch.delete(agent);
    }
  }
}
