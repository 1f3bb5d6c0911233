/**
 * The daemon: assembles its parts, each with one job — the history store, the keyring (local
 * agents), peer pins, delivery states, the outbox, the inbound pipeline and the relay link.
 * Connections, messages and tasks are functions over this object (their own files).
 */
import type { DatabaseSync } from "../store/mod.ts";
import { linkHost } from "./answers.ts";
import { DeliveryStates } from "./delivery.ts";
import { EventBus } from "./events.ts";
import { DaemonFiles, type FilesOptions } from "./files/service.ts";
import { Inbound } from "./inbound.ts";
import { Keyring } from "./keyring.ts";
import { DEFAULT_DAEMON_OPTIONS } from "./options.ts";
import { Outbox } from "./outbox.ts";
import { Peers } from "./peers.ts";
import { RelayHttp } from "./relay_http.ts";
import { PeerPresence } from "./presence.ts";
import { RelayLink } from "./relay_link.ts";
import { sessionCookieName, SessionTable } from "./sessions.ts";
import { DaemonStore } from "./store/mod.ts";
import { Mutex } from "./util.ts";

export type { SendSpec } from "./outbox.ts";

/** Daemon settings after resolution. */
export interface DaemonConfig {
  clientId: string;
  deviceId: string;
  relayUrl: string | undefined;
  relayToken: string | undefined;
  localApiToken: string;
}

/** Tunables of a daemon (tests shorten backoffs and inject the clock). */
export interface DaemonOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Extra trusted CA certificates (PEM) for a relay behind a private CA. */
  caCerts?: string[];
  /** The clock, ms since the epoch: timestamps, deadlines and expiry read it. */
  now?: () => number;
  /** Total size cap of the quarantine (lib/client/quarantine.ts). */
  quarantineMaxBytes?: number;
  /** Files (design §12): where they are kept and which paths may be attached. */
  files?: FilesOptions;
  /** Called after each outermost store transaction commits (the WAL checkpointer's count). */
  onCommit?: () => void;
}

/** The daemon. */
export class Daemon {
  readonly store: DaemonStore;
  readonly events = new EventBus();
  /** Serializes every read-check-write on local state (API actions and inbound). */
  readonly lock = new Mutex();
  readonly now: () => number;
  /** Total size cap of the quarantine, in bytes. */
  readonly quarantineMaxBytes: number;
  readonly relay: RelayHttp | null;
  readonly link: RelayLink | null;
  readonly keyring: Keyring;
  readonly peers: Peers;
  readonly delivery: DeliveryStates;
  readonly outbox: Outbox;
  /** The inbound pipeline (tests may wrap its `deliver`). */
  readonly inbound: Inbound;
  /** Files: the vault, the attach rule and the background transfers (files/service.ts). */
  readonly files: DaemonFiles;
  /** The owner's dashboard sessions (in memory). */
  readonly sessions: SessionTable;
  /** Connected peers' presence, as the relay reports it (presence.ts). */
  readonly presence: PeerPresence;

  constructor(db: DatabaseSync, readonly config: DaemonConfig, options: DaemonOptions = {}) {
    this.store = new DaemonStore(db, options.onCommit);
    this.now = options.now ?? Date.now;
    this.quarantineMaxBytes = options.quarantineMaxBytes ??
      DEFAULT_DAEMON_OPTIONS.quarantineMaxBytes;
    const iso = () => this.nowIso();
    this.relay = config.relayUrl && config.relayToken
      ? new RelayHttp(config.relayUrl, config.relayToken, options.caCerts)
      : null;
    this.keyring = new Keyring(this.store, config.clientId, this.relay, this.events, iso);
    this.peers = new Peers(this.store, this.keyring, this.relay, iso);
    this.delivery = new DeliveryStates(this.store, this.events, iso);
    this.inbound = new Inbound(this);
    this.presence = new PeerPresence(this.store, (peer, online) => {
      for (const c of this.store.connections.list()) {
        if (c.peer === peer) this.events.emit("connection", { peer, online }, c.agent);
      }
    });
    this.sessions = new SessionTable(sessionCookieName(config.deviceId), () => this.now());
    // The link gets its host now, fully formed: what the relay answers has one path in.
    this.link = config.relayUrl && config.relayToken
      ? new RelayLink({
        relayUrl: config.relayUrl,
        clientId: config.clientId,
        token: config.relayToken,
        deviceId: config.deviceId,
        ...(options.minBackoffMs !== undefined ? { minBackoffMs: options.minBackoffMs } : {}),
        ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
        ...(options.caCerts ? { caCerts: options.caCerts } : {}),
      }, linkHost(this))
      : null;
    this.outbox = new Outbox(
      this.store,
      this.keyring,
      this.peers,
      this.events,
      config.deviceId,
      iso,
      this.link,
      () => this.files.transfers?.kick(),
    );
    this.files = new DaemonFiles(
      this,
      options.files ?? null,
      config.relayUrl && config.relayToken
        ? { url: config.relayUrl, token: config.relayToken, caCerts: options.caCerts }
        : null,
    );
  }

  /** The database (tests read it directly; daemon code goes through `store`). */
  get db(): DatabaseSync {
    return this.store.db;
  }

  /** The clock as an ISO string. */
  nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Starts the relay link. */
  start() {
    // A new connection or agent changes what the relay should tell us and about us.
    this.events.subscribe((e) => {
      // (A presence report is itself a `connection` event: it changes no scope.)
      if ((e.type === "connection" && !("online" in e.data)) || e.type === "agent") {
        this.link?.announcePresence();
      }
    });
    this.link?.start();
    this.files.start();
  }

  /** Stops the link; the database stays open for the caller to close. */
  async stop() {
    await this.files.stop();
    await this.link?.stop();
  }

  /** Replaces an agent's keys, signing the rotation with the old key (see Keyring.rotate). */
  rotateAgentKeys(handle: string) {
    return this.keyring.rotate(handle);
  }
}
