/**
 * Peer pinning (design §4): a peer's keys are pinned at first contact and never replaced
 * silently; only the owner re-pins (accepting a quarantined key change).
 */
import { decodeBase64Url, fail } from "../protocol/mod.ts";
import { keyFingerprint, type PublicKeyText } from "./keys.ts";
import type { Keyring } from "./keyring.ts";
import type { RelayAgent, RelayHttp } from "./relay_http.ts";
import type { DaemonStore, PeerRow } from "./store/mod.ts";

/** Pinned peer keys. */
export class Peers {
  constructor(
    private readonly store: DaemonStore,
    private readonly keyring: Keyring,
    private readonly relay: RelayHttp | null,
    private readonly nowIso: () => string,
  ) {}

  /** The pin of `handle`, if any. */
  get(handle: string): PeerRow | undefined {
    return this.store.peers.get(handle);
  }

  /**
   * Pins `agent`'s keys unless a pin exists; returns the pin. The fingerprint is computed here
   * from the keys, never taken from the relay, and the keys must be canonical (gap 9).
   */
  async pin(agent: RelayAgent): Promise<PeerRow> {
    checkKeys(agent);
    const existing = this.get(agent.handle);
    if (existing) return existing;
    this.store.peers.insertIfAbsent({
      handle: agent.handle,
      signing_public_key: agent.signing_public_key,
      encryption_public_key: agent.encryption_public_key,
      fingerprint: await keyFingerprint(agent),
      profile: JSON.stringify(agent.profile ?? {}),
      pinned_at: this.nowIso(),
    });
    return this.get(agent.handle)!;
  }

  /** Replaces a pin with `keys` (the owner accepted a key change). */
  async repin(handle: string, keys: PublicKeyText) {
    this.store.peers.repin(
      handle,
      { ...keys, fingerprint: await keyFingerprint(keys) },
      this.nowIso(),
    );
  }

  /** The pinned peer (a local agent is its own pin), fetched and pinned on first contact. */
  async ensure(handle: string): Promise<PeerRow> {
    const local = this.keyring.get(handle);
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
    const pinned = this.get(handle);
    if (pinned) return pinned;
    return await this.pin(await this.lookup(handle));
  }

  /**
   * What the relay serves for `handle` — only when it is a record *for* `handle` with
   * canonical keys (issue 13 item 10): a record for another handle is never pinned.
   */
  async lookup(handle: string): Promise<RelayAgent> {
    if (!this.relay) throw fail("unavailable", "no relay configured to look up " + handle);
    const agent = await this.relay.agent(handle);
    if (agent?.handle !== handle) {
      throw fail("unknown_agent", `the relay answered ${handle} with a record for another agent`);
    }
    checkKeys(agent);
    return agent;
  }
}

/** A key from the relay: base64url of exactly 32 bytes, canonical (the relay's `Key32` rule). */
function isKey32(text: unknown): boolean {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(text)) return false;
  try {
    return decodeBase64Url(text).length === 32;
  } catch {
    return false;
  }
}

/** Refuses a relay agent record whose keys are not canonical 32-byte base64url. */
function checkKeys(agent: RelayAgent) {
  if (!isKey32(agent?.signing_public_key) || !isKey32(agent?.encryption_public_key)) {
    throw fail("unknown_agent", `the relay served invalid keys for ${String(agent?.handle)}`);
  }
}
