/**
 * Peer presence as the relay reports it (design §13): which connected peer agents have a live
 * session, and when each was last seen. In memory: the relay answers the whole watch list each
 * time the link (re)connects, so nothing stale survives a restart.
 */
import type { PresenceFrame } from "../protocol/mod.ts";
import type { DaemonStore } from "./store/mod.ts";

/** One peer's presence. */
export interface PresenceView {
  online: boolean;
  last_seen: string | null;
}

/** What this daemon knows of its peers' presence. */
export class PeerPresence {
  private readonly peers = new Map<string, PresenceView>();
  /** The relay link is down: nothing it said about peers can be trusted as current. */
  private linked = false;

  constructor(
    private readonly store: DaemonStore,
    /** Told when a peer's `online` flips (the daemon emits a `connection` event). */
    private readonly changed: (peer: string, online: boolean) => void = () => {},
  ) {}

  /** What to tell the relay: our agents (online while the session lives) and the peers to watch. */
  scope(): { agents: string[]; watch: string[] } {
    const agents = this.store.agents.list().map((a) => a.handle);
    const watch = new Set<string>();
    for (const c of this.store.connections.list()) {
      if (c.state === "connected" && !agents.includes(c.peer)) watch.add(c.peer);
    }
    return { agents, watch: [...watch].sort() };
  }

  /** A `presence` frame from the relay. */
  apply(frame: PresenceFrame) {
    const was = this.peers.get(frame.agent)?.online;
    this.peers.set(frame.agent, { online: frame.online, last_seen: frame.last_seen });
    if (was !== frame.online) this.changed(frame.agent, frame.online);
  }

  /** The link went up or down; while down every peer shows offline (last seen kept). */
  link(up: boolean) {
    this.linked = up;
  }

  /** `handle`'s presence (offline and never seen when the relay said nothing). */
  get(handle: string): PresenceView {
    const known = this.peers.get(handle);
    if (!known) return { online: false, last_seen: null };
    return this.linked ? known : { online: false, last_seen: known.last_seen };
  }
}
