/**
 * The keyring: this daemon's local agents, their private keys, and their registration at the
 * relay (proof of possession; a rotation signed by the old key).
 */
import {
  type AgentKeys,
  agentKeysFromPrivate,
  decodeBase64Url,
  encodeBase64Url,
  fail,
  generateAgentKeys,
  handleOwner,
  registrationInput,
  rotationInput,
  sign,
} from "../protocol/mod.ts";
import type { AgentView } from "../protocol/views.ts";
import { logger } from "../log.ts";
import type { EventBus } from "./events.ts";
import { storedKeys } from "./keys.ts";
import type { RelayHttp } from "./relay_http.ts";
import type { DaemonStore, LocalAgentRow, StoredKeys } from "./store/mod.ts";
import { agentView } from "./views.ts";

const log = logger("daemon");

/** What a new local agent may say about itself. */
export interface NewAgent {
  handle: string;
  display_name?: string | undefined;
  description?: string | undefined;
  capabilities?: string[] | undefined;
  public?: boolean | undefined;
}

/** Local agents and their keys. */
export class Keyring {
  #registering = false;
  readonly #derived = new Map<
    string,
    { signing: string; encryption: string; keys: Promise<AgentKeys> }
  >();

  constructor(
    private readonly store: DaemonStore,
    private readonly clientId: string,
    private readonly relay: RelayHttp | null,
    private readonly events: EventBus,
    private readonly nowIso: () => string,
  ) {}

  /** Creates a local agent with fresh keys and registers it at the relay (now or later). */
  async create(input: NewAgent): Promise<AgentView> {
    if (handleOwner(input.handle) !== this.clientId) {
      throw fail(
        "handle_not_owned",
        `this daemon is client '${this.clientId}': use @${this.clientId}/<name>`,
      );
    }
    if (this.get(input.handle)) {
      throw fail("conflict", `${input.handle} already exists on this daemon`);
    }
    const keys = await storedKeys(await generateAgentKeys());
    const profile: Record<string, unknown> = {};
    if (input.display_name !== undefined) profile.display_name = input.display_name;
    if (input.description !== undefined) profile.description = input.description;
    if (input.capabilities !== undefined) profile.capabilities = input.capabilities;
    this.store.agents.insert(
      input.handle,
      keys,
      JSON.stringify(profile),
      input.public === true,
      this.nowIso(),
    );
    await this.register(input.handle).catch((err) =>
      log.warn("agent registration deferred", { handle: input.handle, err })
    );
    this.events.emit("agent", { handle: input.handle }, input.handle);
    return agentView(this.require(input.handle));
  }

  /**
   * Registers one local agent at the relay (`rotateFrom`: the old signing key; `fresh`: keys
   * to register instead of the stored ones, for a rotation not yet stored).
   */
  async register(handle: string, rotateFrom?: Uint8Array, fresh?: StoredKeys) {
    const stored = this.get(handle);
    if (!stored || !this.relay) throw fail("unavailable", "no relay configured");
    const row = fresh ? { ...stored, ...fresh } : stored;
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
          registrationInput(handle, keys, this.clientId),
        ),
      ),
    };
    if (rotateFrom) {
      body.rotation = encodeBase64Url(await sign(rotateFrom, rotationInput(handle, keys)));
    }
    await this.relay.register(body);
    this.store.agents.markRegistered(handle);
  }

  /** Registers agents created while the relay was unreachable. */
  async registerPending() {
    if (this.#registering) return;
    this.#registering = true;
    try {
      for (const handle of this.store.agents.unregistered()) {
        await this.register(handle).catch((err) =>
          log.warn("agent registration failed", { handle, err })
        );
      }
    } finally {
      this.#registering = false;
    }
  }

  /**
   * Replaces an agent's keys, signing the rotation with the old key. The relay is told first:
   * if it cannot be reached or refuses, nothing changes here (the old key, the only one that
   * can sign a rotation, is never lost to a half-done one).
   */
  async rotate(handle: string): Promise<AgentView> {
    const row = this.require(handle);
    if (!this.relay) {
      throw fail("unavailable", "no relay configured: a rotation is registered there");
    }
    const fresh = await storedKeys(await generateAgentKeys());
    await this.register(handle, decodeBase64Url(row.signing_private_key), fresh);
    this.store.transaction(() => {
      this.store.agents.replaceKeys(handle, fresh);
      this.store.agents.markRegistered(handle);
    });
    log.info("agent keys rotated", { handle, fingerprint: fresh.fingerprint });
    return agentView(this.require(handle));
  }

  /** The local agent `handle`, if any. */
  get(handle: string): LocalAgentRow | undefined {
    return this.store.agents.get(handle);
  }

  /** Whether `handle` is an agent of this daemon. */
  isLocal(handle: string): boolean {
    return this.get(handle) !== undefined;
  }

  /** The local agent `handle`, or `unknown_agent`. */
  require(handle: string): LocalAgentRow {
    const row = this.get(handle);
    if (!row) throw fail("unknown_agent", `${handle} is not an agent of this daemon`);
    return row;
  }

  /** Every local handle, sorted. */
  handles(): string[] {
    return this.store.agents.handles();
  }

  /** Resolves the acting agent: the one given, or the only local one (among `candidates`). */
  acting(given: string | undefined, candidates?: string[]): string {
    if (given) {
      this.require(given);
      return given;
    }
    const local = candidates ? candidates.filter((h) => this.isLocal(h)) : this.handles();
    if (local.length === 1) return local[0]!;
    throw fail(
      "validation_failed",
      "name the acting agent with `agent` (several local agents could act)",
    );
  }

  /** Every local agent as the API shows it. */
  list(): AgentView[] {
    return this.store.agents.list().map(agentView);
  }

  /**
   * The agent's full key set. Deriving the public halves parses two keys per inbound envelope
   * (four WebCrypto calls, ~0.15 ms, when this cache came); an entry is used only while the
   * stored private keys are the ones it was derived from, so a rotation is picked up at once.
   */
  async keysOf(handle: string): Promise<AgentKeys> {
    const row = this.require(handle);
    const hit = this.#derived.get(handle);
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
    this.#derived.set(handle, entry);
    entry.keys.catch(() => {
      if (this.#derived.get(handle) === entry) this.#derived.delete(handle);
    });
    return await entry.keys;
  }
}
