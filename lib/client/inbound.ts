/**
 * The inbound pipeline's front half (design §7): parse → dedup → verify against the pinned key
 * (first contact pins what the relay serves). A changed key or a forgery goes to quarantine for
 * the owner; a verified envelope goes on to inbound_apply.ts.
 *
 * Deliveries come in batches (those the link received while the previous batch was handled):
 * verified and opened concurrently, applied in arrival order in one transaction, acked by the
 * link only after its COMMIT.
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
  parseReceivedEnvelope,
  TaskferryError,
  verifyEnvelope,
} from "../protocol/mod.ts";
import { logger } from "../log.ts";
import type { Daemon } from "./daemon.ts";
import {
  type AfterCommit,
  afterCommit,
  isTransient,
  type Opened,
  openFor,
  stageOpened,
} from "./inbound_apply.ts";
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

/** A delivery off the relay link: its sequence number and the raw envelope. */
export interface Delivery {
  seq: number;
  envelope: unknown;
}

/**
 * What became of a batch of deliveries: the first `stored` are durable and may be acked; if
 * that is fewer than all, `error` is the transient reason the next one was not (it and the
 * rest come again).
 */
export interface BatchResult {
  stored: number;
  error?: unknown;
}

/** One delivery after verification and decryption, before it is applied. */
type Prepared =
  | { kind: "done" } // nothing to store: a duplicate, quarantined, or for no local agent
  | { kind: "apply"; envelope: Envelope; opened: Opened[] }
  | { kind: "transient"; err: unknown };

/** The inbound pipeline of one daemon. */
export class Inbound {
  readonly #stuck = new Map<string, StuckDelivery>();
  /** Signed `delivered` receipts to the senders of what was stored. */
  readonly receipts: DeliveredReceipts;

  constructor(private readonly d: Daemon) {
    this.receipts = new DeliveredReceipts(d);
  }

  /**
   * Stores and applies the deliveries of one batch under the daemon's lock: verified and opened
   * concurrently, then applied in order in one transaction (group commit; each envelope in its
   * own savepoint, so a poison one is recorded alone). Nothing is reported stored before the
   * COMMIT. A transient error stops the batch at that envelope: what precedes it is committed,
   * it and what follows are not (see {@link BatchResult}).
   * A property, not a method: tests wrap it to simulate crashes between store and ack.
   */
  deliverBatch = (items: readonly Delivery[]): Promise<BatchResult> =>
    this.d.lock.run(() => this.#batch(items));

  /** {@link deliverBatch} of one delivery; throws (it stays unacked) on a transient error. */
  deliver = async (seq: number, raw: unknown): Promise<void> => {
    const result = await this.deliverBatch([{ seq, envelope: raw }]);
    if (result.stored < 1) throw result.error ?? new Error("delivery not stored");
  };

  /** Envelopes whose delivery failed transiently, most attempts first. */
  stuck(): StuckDelivery[] {
    return [...this.#stuck.values()].sort((a, b) => b.attempts - a.attempts);
  }

  async #batch(items: readonly Delivery[]): Promise<BatchResult> {
    const prepared = await Promise.all(items.map(({ envelope }) => this.#prepare(envelope)));
    let stored = prepared.findIndex((p) => p.kind === "transient");
    if (stored < 0) stored = items.length;
    let error = (prepared[stored] as { err?: unknown } | undefined)?.err;
    const after: AfterCommit[] = [];
    if (prepared.slice(0, stored).some((p) => p.kind === "apply")) {
      try {
        this.d.store.transaction(() => {
          const applied = new Set<string>(); // a redelivered copy in the same batch
          for (let i = 0; i < stored; i++) {
            const p = prepared[i]!;
            if (p.kind !== "apply" || applied.has(p.envelope.id)) continue;
            const stage = () => stageOpened(this.d, p.envelope, p.opened);
            try {
              // Several recipients: one savepoint around all of them, undone together.
              after.push(...(p.opened.length > 1 ? this.d.store.transaction(stage) : stage()));
            } catch (err) {
              // Transient (stageOpened records anything else): keep what precedes it.
              stored = i;
              error = err;
              return;
            }
            applied.add(p.envelope.id);
          }
        });
      } catch (err) {
        // BEGIN or COMMIT failed: nothing of the batch is stored, nothing is announced.
        stored = 0;
        error = err;
        after.length = 0;
      }
    }
    afterCommit(after);
    for (const { envelope } of items.slice(0, stored)) this.#stuck.delete(envelopeId(envelope));
    if (stored < items.length) this.#count(envelopeId(items[stored]!.envelope), error);
    return stored < items.length ? { stored, error } : { stored };
  }

  /** Parses, deduplicates, verifies and opens one delivery; records what cannot be applied. */
  async #prepare(raw: unknown): Promise<Prepared> {
    try {
      return await this.#verified(raw);
    } catch (err) {
      if (isTransient(err)) return { kind: "transient", err };
      // A bug or a hostile envelope: keep it for the owner and go on with the stream.
      log.error("inbound envelope could not be handled; kept in quarantine", {
        id: envelopeId(raw),
        err,
      });
      try {
        quarantine(this.d, null, raw, err instanceof TaskferryError ? err.code : "internal");
      } catch (again) {
        log.error("inbound envelope dropped: it cannot even be quarantined", {
          id: envelopeId(raw),
          err: again,
        });
      }
      return { kind: "done" };
    }
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

  async #verified(raw: unknown): Promise<Prepared> {
    const done = { kind: "done" } as const;
    const d = this.d;
    let envelope: Envelope;
    try {
      // The relay's hand-written check of the common shape first (frozen; its signing text is
      // then written directly, not canonicalized); the schema decides everything else.
      envelope = parseReceivedEnvelope(raw);
    } catch (err) {
      quarantine(d, null, raw, (err as TaskferryError).code ?? "invalid_envelope");
      return done;
    }
    if (d.store.messages.wasReceived(envelope.id)) return done;
    if (d.store.quarantine.has(envelope.id)) return done;
    // A blocked peer's envelopes are dropped unverified and unstored (lib/client/blocks.ts).
    const locals = envelope.to.filter((h) =>
      d.keyring.isLocal(h) && !d.store.connections.isBlocked(h, envelope.from)
    );
    if (locals.length === 0) {
      log.warn("delivery for no local agent", { id: envelope.id, to: envelope.to });
      return done;
    }

    // The sender's pinned key; first contact pins what the relay serves.
    let peer;
    try {
      peer = await d.peers.ensure(envelope.from);
    } catch (err) {
      if (isTransient(err)) throw err; // relay unreachable: leave unacked, it comes again
      // Unknown, or the relay served a record that is not a valid key for this handle.
      quarantine(d, envelope, raw, "unknown_sender");
      return done;
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
          return done;
        }
      }
      quarantine(d, envelope, raw, "bad_signature");
      return done;
    }
    const opened = await openFor(d, envelope, locals, peer.signing_public_key);
    return opened.length ? { kind: "apply", envelope, opened } : done;
  }
}

/** The envelope id of a raw delivery, for counting (a placeholder when it has none). */
function envelopeId(raw: unknown): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "string" ? id.slice(0, 64) : "(no id)";
}
