/**
 * The inbound pipeline's front half (design §7): parse → dedup → verify against the pinned key
 * (first contact pins what the relay serves). A changed key or a forgery goes to quarantine for
 * the owner; a verified envelope goes on to inbound_apply.ts.
 */
import {
  decodeBase64Url,
  type Envelope,
  parseEnvelope,
  TaskferryError,
  verifyEnvelope,
} from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import { applyVerified } from "./inbound_apply.ts";
import { quarantine } from "./quarantine.ts";

const log = logger("inbound");

/** The inbound pipeline of one daemon. */
export class Inbound {
  constructor(private readonly d: Daemon) {}

  /**
   * Stores and applies one delivered envelope under the daemon's lock. Throws (leaving the
   * delivery unacked, so it comes again) only when the relay could not be asked for a key.
   * A property, not a method: tests wrap it to simulate crashes between store and ack.
   */
  deliver = (_seq: number, raw: unknown): Promise<void> =>
    this.d.lock.run(() => this.#deliver(raw));

  async #deliver(raw: unknown): Promise<void> {
    const d = this.d;
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(raw);
    } catch (err) {
      quarantine(d, null, raw, (err as TaskferryError).code ?? "invalid_envelope");
      return;
    }
    if (d.store.messages.wasReceived(envelope.id)) return;
    if (d.store.quarantine.has(envelope.id)) return;
    // A blocked peer's envelopes are dropped unverified and unstored (lib/client/blocks.ts).
    const locals = envelope.to.filter((h) =>
      d.keyring.isLocal(h) && !d.store.connections.isBlocked(h, envelope.from)
    );
    if (locals.length === 0) {
      log.warn("delivery for no local agent", { id: envelope.id, to: envelope.to });
      return;
    }

    // The sender's pinned key; first contact pins what the relay serves.
    let peer;
    try {
      peer = await d.peers.ensure(envelope.from);
    } catch (err) {
      if (err instanceof TaskferryError && err.code === "unknown_agent") {
        quarantine(d, envelope, raw, "unknown_sender");
        return;
      }
      throw err; // relay unreachable: leave unacked, it comes again
    }
    try {
      await verifyEnvelope(envelope, decodeBase64Url(peer.signing_public_key));
    } catch {
      // Not the pinned key. Does the relay now serve another key that signed it?
      const current = await d.relay?.agent(envelope.from).catch(() => null);
      if (current && current.signing_public_key !== peer.signing_public_key) {
        const verifiesWithNew = await verifyEnvelope(
          envelope,
          decodeBase64Url(current.signing_public_key),
        )
          .then(() => true, () => false);
        if (verifiesWithNew) {
          quarantine(
            d,
            envelope,
            raw,
            "key_changed",
            JSON.stringify({
              signing_public_key: current.signing_public_key,
              encryption_public_key: current.encryption_public_key,
            }),
          );
          return;
        }
      }
      quarantine(d, envelope, raw, "bad_signature");
      return;
    }
    await applyVerified(d, envelope, locals);
  }
}
