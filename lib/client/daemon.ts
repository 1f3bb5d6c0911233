/**
 * The daemon core: keyring, peers, outbox and the relay link. Connections, tasks and the
 * inbound pipeline live in their own files and work on this object.
 */
import {
  type AgentKeys,
  agentKeysFromPrivate,
  decodeBase64Url,
  encodeBase64Url,
  type Envelope,
  type EnvelopeHeader,
  fail,
  fingerprint,
  generateAgentKeys,
  handleOwner,
  type MessageType,
  newId,
  registrationInput,
  type RelayReceipt,
  rotationInput,
  sealEnvelope,
  sign,
} from "../protocol/mod.ts";
import { all, type DatabaseSync, get, run, transaction } from "../store/mod.ts";
import { logger } from "../log.ts";
import { EventBus } from "./events.ts";
import { type RelayAgent, RelayHttp } from "./relay_http.ts";
import { type LinkHost, RelayLink } from "./relay_link.ts";
import { Mutex, nowIso } from "./util.ts";

const log = logger("daemon");

/** Daemon settings after resolution. */
export interface DaemonConfig {
  clientId: string;
  deviceId: string;
  relayUrl: string | undefined;
  relayToken: string | undefined;
  localApiToken: string;
}

/** A local agent row (private keys included: never serialize this to a response). */
export interface LocalAgentRow {
  handle: string;
  signing_private_key: string;
  signing_public_key: string;
  encryption_private_key: string;
  encryption_public_key: string;
  fingerprint: string;
  profile: string;
  public: number;
  registered: number;
  created_at: string;
}

/** A pinned peer. */
export interface PeerRow {
  handle: string;
  signing_public_key: string;
  encryption_public_key: string;
  fingerprint: string;
  profile: string;
  pinned_at: string;
}

/** A message row. */
export interface MessageRow {
  id: string;
  agent: string;
  direction: "in" | "out";
  type: MessageType;
  from_handle: string;
  to_handles: string;
  conversation_id: string | null;
  task_id: string | null;
  reply_to: string | null;
  created_at: string;
  payload: string;
  envelope: string;
  state: string;
  state_reason: string | null;
  updated_at: string;
}

/** Outbound message states, in the order they advance. */
export const OUT_STATES = ["queued", "accepted", "delivered", "read", "processed"] as const;

/** Options for sending one envelope. */
export interface SendSpec {
  from: string;
  to: string[];
  type: MessageType;
  payload: unknown;
  conversation_id?: string | undefined;
  task_id?: string | undefined;
  reply_to?: string | undefined;
  /** Extra writes done in the same transaction as the outbox insert. */
  effects?: (id: string, createdAt: string) => void;
}

/** The daemon. */
export class Daemon {
  readonly events = new EventBus();
  /** Serializes every read-check-write on local state (API actions and inbound). */
  readonly lock = new Mutex();
  readonly relay: RelayHttp | null;
  readonly link: RelayLink | null;
  private registering = false;

  constructor(readonly db: DatabaseSync, readonly config: DaemonConfig, linkOptions?: {
    minBackoffMs?: number;
    maxBackoffMs?: number;
    caCerts?: string[];
  }) {
    if (config.relayUrl && config.relayToken) {
      this.relay = new RelayHttp(config.relayUrl, config.relayToken, linkOptions?.caCerts);
      this.link = new RelayLink({
        relayUrl: config.relayUrl,
        clientId: config.clientId,
        token: config.relayToken,
        deviceId: config.deviceId,
        ...linkOptions,
      }, this.linkHost());
    } else {
      this.relay = null;
      this.link = null;
    }
  }

  /** Hooks the inbound pipeline in (set by the assembly, avoiding an import cycle). */
  inbound: {
    deliver(seq: number, envelope: unknown): Promise<void>;
    receipt(r: RelayReceipt): Promise<void>;
    refused(id: string, code: string, message: string): void;
    accepted(id: string): void;
  } | null = null;

  /** Starts the relay link. */
  start() {
    this.link?.start();
  }

  /** Stops the link; the database stays open for the caller to close. */
  async stop() {
    await this.link?.stop();
  }

  // ---------------------------------------------------------------------------------------
  // Settings

  setting(key: string): string | null {
    return get<{ value: string }>(this.db, "SELECT value FROM settings WHERE key = ?", key)
      ?.value ??
      null;
  }

  setSetting(key: string, value: string) {
    run(
      this.db,
      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Local agents

  /** Creates a local agent with fresh keys and registers it at the relay (now or later). */
  async createAgent(input: {
    handle: string;
    display_name?: string | undefined;
    description?: string | undefined;
    capabilities?: string[] | undefined;
    public?: boolean | undefined;
  }) {
    if (handleOwner(input.handle) !== this.config.clientId) {
      throw fail(
        "handle_not_owned",
        `this daemon is client '${this.config.clientId}': use @${this.config.clientId}/<name>`,
      );
    }
    const existing = this.agentRow(input.handle);
    if (existing) throw fail("conflict", `${input.handle} already exists on this daemon`);
    const keys = await generateAgentKeys();
    const fp = await fingerprint({
      signing: keys.signing.publicKey,
      encryption: keys.encryption.publicKey,
    });
    const profile: Record<string, unknown> = {};
    if (input.display_name !== undefined) profile.display_name = input.display_name;
    if (input.description !== undefined) profile.description = input.description;
    if (input.capabilities !== undefined) profile.capabilities = input.capabilities;
    run(
      this.db,
      `INSERT INTO agents (handle, signing_private_key, signing_public_key, encryption_private_key,
         encryption_public_key, fingerprint, profile, public, registered, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
      input.handle,
      encodeBase64Url(keys.signing.privateKey),
      encodeBase64Url(keys.signing.publicKey),
      encodeBase64Url(keys.encryption.privateKey),
      encodeBase64Url(keys.encryption.publicKey),
      fp,
      JSON.stringify(profile),
      input.public ? 1 : 0,
      nowIso(),
    );
    await this.registerAgent(input.handle).catch((err) =>
      log.warn("agent registration deferred", { handle: input.handle, err })
    );
    this.events.emit("agent", { handle: input.handle }, input.handle);
    return this.publicAgent(this.agentRow(input.handle)!);
  }

  /** Registers one local agent at the relay. */
  async registerAgent(handle: string, rotateFrom?: Uint8Array) {
    const row = this.agentRow(handle);
    if (!row || !this.relay) throw fail("unavailable", "no relay configured");
    const keys = {
      signing_public_key: row.signing_public_key,
      encryption_public_key: row.encryption_public_key,
    };
    const body: Record<string, unknown> = {
      handle,
      ...keys,
      profile: JSON.parse(row.profile),
      public: row.public === 1,
      proof: encodeBase64Url(
        await sign(
          decodeBase64Url(row.signing_private_key),
          registrationInput(handle, keys, this.config.clientId),
        ),
      ),
    };
    if (rotateFrom) {
      body.rotation = encodeBase64Url(await sign(rotateFrom, rotationInput(handle, keys)));
    }
    await this.relay.register(body);
    run(this.db, "UPDATE agents SET registered = 1 WHERE handle = ?", handle);
  }

  /** Registers agents created while the relay was unreachable. */
  async registerPending() {
    if (this.registering) return;
    this.registering = true;
    try {
      const rows = all<{ handle: string }>(
        this.db,
        "SELECT handle FROM agents WHERE registered = 0",
      );
      for (const r of rows) {
        await this.registerAgent(r.handle).catch((err) =>
          log.warn("agent registration failed", { handle: r.handle, err })
        );
      }
    } finally {
      this.registering = false;
    }
  }

  /** Replaces an agent's keys, signing the rotation with the old key. */
  async rotateAgentKeys(handle: string) {
    const row = this.requireLocal(handle);
    const keys = await generateAgentKeys();
    const oldSigning = decodeBase64Url(row.signing_private_key);
    const fp = await fingerprint({
      signing: keys.signing.publicKey,
      encryption: keys.encryption.publicKey,
    });
    transaction(this.db, () => {
      run(
        this.db,
        `UPDATE agents SET signing_private_key = ?, signing_public_key = ?, encryption_private_key = ?,
           encryption_public_key = ?, fingerprint = ?, registered = 0 WHERE handle = ?`,
        encodeBase64Url(keys.signing.privateKey),
        encodeBase64Url(keys.signing.publicKey),
        encodeBase64Url(keys.encryption.privateKey),
        encodeBase64Url(keys.encryption.publicKey),
        fp,
        handle,
      );
    });
    await this.registerAgent(handle, oldSigning);
    return this.publicAgent(this.agentRow(handle)!);
  }

  agentRow(handle: string): LocalAgentRow | undefined {
    return get<LocalAgentRow>(this.db, "SELECT * FROM agents WHERE handle = ?", handle);
  }

  /** The local agent `handle`, or `unknown_agent`. */
  requireLocal(handle: string): LocalAgentRow {
    const row = this.agentRow(handle);
    if (!row) throw fail("unknown_agent", `${handle} is not an agent of this daemon`);
    return row;
  }

  localHandles(): string[] {
    return all<{ handle: string }>(this.db, "SELECT handle FROM agents ORDER BY handle").map((r) =>
      r.handle
    );
  }

  /** Resolves the acting agent: the one given, or the only local one. */
  actingAgent(given: string | undefined, candidates?: string[]): string {
    if (given) {
      this.requireLocal(given);
      return given;
    }
    const local = candidates ? candidates.filter((h) => this.agentRow(h)) : this.localHandles();
    if (local.length === 1) return local[0]!;
    throw fail(
      "validation_failed",
      "name the acting agent with `agent` (several local agents could act)",
    );
  }

  listAgents() {
    return all<LocalAgentRow>(this.db, "SELECT * FROM agents ORDER BY handle").map((r) =>
      this.publicAgent(r)
    );
  }

  /** An agent as the API shows it: never the private keys. */
  publicAgent(row: LocalAgentRow) {
    return {
      handle: row.handle,
      fingerprint: row.fingerprint,
      signing_public_key: row.signing_public_key,
      encryption_public_key: row.encryption_public_key,
      ...JSON.parse(row.profile),
      public: row.public === 1,
      registered: row.registered === 1,
      created_at: row.created_at,
    };
  }

  /**
   * The agent's full key set. Deriving the public halves takes four WebCrypto calls (~0.15 ms),
   * paid on every inbound envelope before this cache; an entry is used only while the stored
   * private keys are the ones it was derived from, so a rotation is picked up at once.
   */
  async keysOf(handle: string): Promise<AgentKeys> {
    const row = this.requireLocal(handle);
    const hit = this.derivedKeys.get(handle);
    if (
      hit && hit.signing === row.signing_private_key &&
      hit.encryption === row.encryption_private_key
    ) {
      return await hit.keys;
    }
    const entry = {
      signing: row.signing_private_key,
      encryption: row.encryption_private_key,
      keys: agentKeysFromPrivate(
        decodeBase64Url(row.signing_private_key),
        decodeBase64Url(row.encryption_private_key),
      ),
    };
    this.derivedKeys.set(handle, entry);
    entry.keys.catch(() => {
      if (this.derivedKeys.get(handle) === entry) this.derivedKeys.delete(handle);
    });
    return await entry.keys;
  }

  private readonly derivedKeys = new Map<
    string,
    { signing: string; encryption: string; keys: Promise<AgentKeys> }
  >();

  // ---------------------------------------------------------------------------------------
  // Peers

  peer(handle: string): PeerRow | undefined {
    return get<PeerRow>(this.db, "SELECT * FROM peers WHERE handle = ?", handle);
  }

  /**
   * Pins `agent`'s keys unless a pin exists; returns the pin. The fingerprint is computed here
   * from the keys, never taken from the relay.
   */
  async pinPeer(agent: RelayAgent): Promise<PeerRow> {
    const existing = this.peer(agent.handle);
    if (existing) return existing;
    const fp = await fingerprint({
      signing: decodeBase64Url(agent.signing_public_key),
      encryption: decodeBase64Url(agent.encryption_public_key),
    });
    run(
      this.db,
      `INSERT INTO peers (handle, signing_public_key, encryption_public_key, fingerprint, profile, pinned_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (handle) DO NOTHING`,
      agent.handle,
      agent.signing_public_key,
      agent.encryption_public_key,
      fp,
      JSON.stringify(agent.profile ?? {}),
      nowIso(),
    );
    return this.peer(agent.handle)!;
  }

  /** Replaces a pin (the owner accepted a key change). */
  repinPeer(
    handle: string,
    keys: { signing_public_key: string; encryption_public_key: string; fingerprint: string },
  ) {
    run(
      this.db,
      `UPDATE peers SET signing_public_key = ?, encryption_public_key = ?, fingerprint = ?, pinned_at = ?
       WHERE handle = ?`,
      keys.signing_public_key,
      keys.encryption_public_key,
      keys.fingerprint,
      nowIso(),
      handle,
    );
  }

  /** The pinned peer, fetching and pinning it from the relay on first contact. */
  async ensurePeer(handle: string): Promise<PeerRow> {
    const local = this.agentRow(handle);
    if (local) {
      return {
        handle,
        signing_public_key: local.signing_public_key,
        encryption_public_key: local.encryption_public_key,
        fingerprint: local.fingerprint,
        profile: local.profile,
        pinned_at: local.created_at,
      };
    }
    const pinned = this.peer(handle);
    if (pinned) return pinned;
    if (!this.relay) throw fail("unavailable", "no relay configured to look up " + handle);
    return await this.pinPeer(await this.relay.agent(handle));
  }

  // ---------------------------------------------------------------------------------------
  // Outbound

  /**
   * Seals and queues one envelope: message row + outbox row + `effects` in one transaction,
   * then wakes the link. Peers must be pinned (see ensurePeer) before calling.
   */
  async send(spec: SendSpec): Promise<{ id: string; created_at: string }> {
    const id = newId("msg");
    const created_at = nowIso();
    const header: EnvelopeHeader = {
      v: 1,
      id,
      type: spec.type,
      from: spec.from,
      to: spec.to,
      created_at,
      device_id: this.config.deviceId,
    };
    if (spec.conversation_id) header.conversation_id = spec.conversation_id;
    if (spec.task_id) header.task_id = spec.task_id;
    if (spec.reply_to) header.reply_to = spec.reply_to;
    const sender = this.requireLocal(spec.from);
    const recipients = [];
    for (const to of spec.to) {
      const p = await this.ensurePeer(to);
      recipients.push({
        handle: to,
        encryptionPublicKey: decodeBase64Url(p.encryption_public_key),
      });
    }
    const envelope: Envelope = await sealEnvelope(
      header,
      spec.payload,
      { handle: spec.from, signingPrivateKey: decodeBase64Url(sender.signing_private_key) },
      recipients,
    );
    const text = JSON.stringify(envelope);
    transaction(this.db, () => {
      this.insertMessage(envelope, spec.from, "out", spec.payload, "queued");
      run(
        this.db,
        "INSERT INTO outbox (id, envelope, created_at) VALUES (?, ?, ?)",
        id,
        text,
        created_at,
      );
      spec.effects?.(id, created_at);
    });
    this.events.emit("message_state", { id, state: "queued", type: spec.type }, spec.from);
    this.link?.flush();
    return { id, created_at };
  }

  /** Stores a message row (idempotent by id + agent). */
  insertMessage(
    envelope: Envelope,
    agent: string,
    direction: "in" | "out",
    payload: unknown,
    state: string,
    reason?: string,
  ) {
    run(
      this.db,
      `INSERT INTO messages (id, agent, direction, type, from_handle, to_handles, conversation_id, task_id,
         reply_to, created_at, payload, envelope, state, state_reason, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, agent) DO NOTHING`,
      envelope.id,
      agent,
      direction,
      envelope.type,
      envelope.from,
      JSON.stringify(envelope.to),
      envelope.conversation_id ?? null,
      envelope.task_id ?? null,
      envelope.reply_to ?? null,
      envelope.created_at,
      JSON.stringify(payload),
      JSON.stringify(envelope),
      state,
      reason ?? null,
      nowIso(),
    );
  }

  /** Advances an outbound message's state (never backwards, `failed` only before delivery). */
  advanceOutState(id: string, state: string, reason?: string) {
    const row = get<{ agent: string; state: string; type: string }>(
      this.db,
      "SELECT agent, state, type FROM messages WHERE id = ? AND direction = 'out'",
      id,
    );
    if (!row) return false;
    const order = OUT_STATES as readonly string[];
    const from = order.indexOf(row.state);
    const to = order.indexOf(state);
    const forward = state === "failed"
      ? row.state !== "failed" && from < order.indexOf("read")
      : to > from;
    if (!forward) return false;
    run(
      this.db,
      "UPDATE messages SET state = ?, state_reason = ?, updated_at = ? WHERE id = ? AND direction = 'out'",
      state,
      reason ?? null,
      nowIso(),
      id,
    );
    this.events.emit(
      "message_state",
      { id, state, type: row.type, ...(reason ? { reason } : {}) },
      row.agent,
    );
    return true;
  }

  /** A message as the API shows it. */
  messageView(row: MessageRow, inboxSeq?: number) {
    const view: Record<string, unknown> = {
      id: row.id,
      type: row.type,
      direction: row.direction,
      agent: row.agent,
      from: row.from_handle,
      to: JSON.parse(row.to_handles),
      created_at: row.created_at,
      state: row.state,
      payload: JSON.parse(row.payload),
    };
    if (inboxSeq !== undefined) view.seq = inboxSeq;
    if (row.conversation_id) view.conversation_id = row.conversation_id;
    if (row.task_id) view.task_id = row.task_id;
    if (row.reply_to) view.reply_to = row.reply_to;
    if (row.state_reason) view.state_reason = row.state_reason;
    return view;
  }

  // ---------------------------------------------------------------------------------------
  // The link's view of the daemon

  private linkHost(): LinkHost {
    return {
      deliver: (seq, envelope) => this.inbound!.deliver(seq, envelope),
      receipt: (r) => this.inbound!.receipt(r),
      accepted: (id) => {
        // One commit for both rows (a commit costs more than either write).
        transaction(this.db, () => {
          run(this.db, "UPDATE outbox SET state = 'accepted' WHERE id = ?", id);
          this.advanceOutState(id, "accepted");
        });
        this.inbound?.accepted(id);
      },
      refused: (id, code, message) => {
        run(this.db, "UPDATE outbox SET state = 'failed', error_code = ? WHERE id = ?", code, id);
        this.advanceOutState(id, "failed", `${code}: ${message}`);
        this.inbound?.refused(id, code, message);
      },
      pendingOutbox: (after, limit) =>
        all(
          this.db,
          "SELECT seq, id, envelope FROM outbox WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
          after,
          limit,
        ),
      status: (connected, detail) => {
        this.events.emit("relay", { connected, ...(detail ? { detail } : {}) });
        if (connected) this.registerPending().catch(() => {});
      },
    };
  }
}
