/**
 * The inbound pipeline's front half (design §7): parse → dedup → verify against the pinned key
 * (first contact pins what the relay serves). A changed key or a forgery goes to quarantine for
 * the owner; a verified envelope goes on to inbound_apply.ts.
 *
 * No envelope can block the stream (issue 13 item 1): anything that goes wrong with one
 * envelope is recorded for the owner (a `rejected` row or a quarantine item) and the delivery
 * is acked. Only errors that are really transient (the relay unreachable while pinning a key,
 * SQLite busy, locked or full) leave it unacked; those are counted per envelope id and shown in
 * `GET /v1/health` (`inbound.stuck`) so a stuck item never loops silently.
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
import { applyVerified, isTransient } from "./inbound_apply.ts";
import { quarantine } from "./quarantine.ts";
import { DeliveredReceipts } from "./receipts.ts";

const log = logger("inbound");

/** An envelope whose delivery keeps failing for a transient reason. */
export interface StuckDelivery {
  id: string;
  attempts: number;
  last_error: string;
  first_at: string;
  last_at: string;
}

/** Most stuck envelopes remembered (the oldest is forgotten first). */
const MAX_STUCK = 100;

/** The inbound pipeline of one daemon. */
export class Inbound {
  readonly #stuck = new Map<string, StuckDelivery>();
  /** Signed `delivered` receipts to the senders of what was stored. */
  readonly receipts: DeliveredReceipts;

  constructor(private readonly d: Daemon) {
    this.receipts = new DeliveredReceipts(d);
  }

  /**
   * Stores and applies one delivered envelope under the daemon's lock. Throws (leaving the
   * delivery unacked, so it comes again) only for a transient error.
   * A property, not a method: tests wrap it to simulate crashes between store and ack.
   */
  deliver = (_seq: number, raw: unknown): Promise<void> =>
    this.d.lock.run(() => this.#isolated(raw));

  /** Envelopes whose delivery failed transiently, most attempts first. */
  stuck(): StuckDelivery[] {
    return [...this.#stuck.values()].sort((a, b) => b.attempts - a.attempts);
  }

  async #isolated(raw: unknown): Promise<void> {
    const id = envelopeId(raw);
    try {
      await this.#deliver(raw);
    } catch (err) {
      if (isTransient(err)) {
        this.#count(id, err);
        throw err;
      }
      // A bug or a hostile envelope: keep it for the owner and go on with the stream.
      log.error("inbound envelope could not be handled; kept in quarantine", { id, err });
      try {
        quarantine(this.d, null, raw, err instanceof TaskferryError ? err.code : "internal");
      } catch (again) {
        log.error("inbound envelope dropped: it cannot even be quarantined", { id, err: again });
      }
    }
    this.#stuck.delete(id);
  }

  #count(id: string, err: unknown) {
    const now = this.d.nowIso();
    const prev = this.#stuck.get(id);
    this.#stuck.delete(id);
    this.#stuck.set(id, {
      id,
      attempts: (prev?.attempts ?? 0) + 1,
      last_error: String((err as Error)?.message ?? err).slice(0, 300),
      first_at: prev?.first_at ?? now,
      last_at: now,
    });
    if (this.#stuck.size > MAX_STUCK) this.#stuck.delete(this.#stuck.keys().next().value!);
  }

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
      if (isTransient(err)) throw err; // relay unreachable: leave unacked, it comes again
      // Unknown, or the relay served a record that is not a valid key for this handle.
      quarantine(d, envelope, raw, "unknown_sender");
      return;
    }
    try {
      await verifyEnvelope(envelope, decodeBase64Url(peer.signing_public_key));
    } catch {
      // Not the pinned key. Does the relay now serve another key that signed it?
      const current = await d.peers.lookup(envelope.from).catch(() => null);
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

/** The envelope id of a raw delivery, for counting (a placeholder when it has none). */
function envelopeId(raw: unknown): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "string" ? id.slice(0, 64) : "(no id)";
}
