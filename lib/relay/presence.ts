/**
 * Presence (design §13): which agents have a live session, told to connected peers only.
 * A session announces its own agents and the peers it watches (`presence` client frame); the
 * relay keeps an announced agent only when the session's client owns it, and a watch only when
 * the client has a connection to the watched agent (re-checked before every frame it sends),
 * so presence never reaches the public or a client without a connection. State is per relay
 * process, in memory: it is rebuilt as sessions announce themselves again.
 */
import type { PresenceFrame } from "../protocol/mod.ts";
import type { RelayStore } from "./store.ts";

/** The part of a session presence needs. */
export interface PresenceSession {
  readonly clientId: string;
  send(frame: PresenceFrame): boolean;
}

/** Online agents and who watches them. */
export class Presence {
  /** Agent → the session that announced it online. */
  private readonly online = new Map<string, PresenceSession>();
  /** Agent → when it last went away (ms). */
  private readonly lastSeen = new Map<string, number>();
  /** Session → its announced agents and its watch list. */
  private readonly scopes = new Map<PresenceSession, { agents: string[]; watch: Set<string> }>();

  constructor(private readonly store: RelayStore, private readonly now = Date.now) {}

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
    const before = this.scopes.get(session)?.agents ?? [];
    this.scopes.set(session, { agents, watch });
    for (const agent of before) if (!agents.includes(agent)) this.away(agent, session);
    for (const agent of agents) {
      const was = this.online.get(agent);
      this.online.set(agent, session);
      if (was !== session) await this.tell(agent, true);
    }
    for (const agent of watch) session.send(this.frame(agent, this.online.has(agent)));
  }

  /** A session ended: its agents go away (unless a newer session announced them already). */
  async left(session: PresenceSession) {
    const scope = this.scopes.get(session);
    this.scopes.delete(session);
    for (const agent of scope?.agents ?? []) {
      if (this.away(agent, session)) await this.tell(agent, false);
    }
  }

  private away(agent: string, session: PresenceSession): boolean {
    if (this.online.get(agent) !== session) return false;
    this.online.delete(agent);
    this.lastSeen.set(agent, this.now());
    return true;
  }

  private frame(agent: string, online: boolean): PresenceFrame {
    const seen = online ? this.now() : this.lastSeen.get(agent);
    return {
      type: "presence",
      agent,
      online,
      last_seen: seen === undefined ? null : new Date(seen).toISOString(),
    };
  }

  /** Tells every session watching `agent`, after checking its connection again. */
  private async tell(agent: string, online: boolean) {
    const frame = this.frame(agent, online);
    for (const [session, scope] of this.scopes) {
      if (!scope.watch.has(agent)) continue;
      if (await this.store.clientLinkedTo(session.clientId, agent)) session.send(frame);
      else scope.watch.delete(agent);
    }
  }
}
