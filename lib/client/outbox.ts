/**
 * The outbound path: seal an envelope, store the message row and the outbox row (plus the
 * caller's effects) in one transaction, then wake the relay link. At-least-once from here on.
 * Envelopes sealed in the same turn are stored with one commit (group commit): each in its
 * own savepoint, so one whose effects throw fails alone, and `send` resolves only after the
 * commit, so nothing is answered or sent before it is durable.
 */
import {
  decodeBase64Url,
  type Envelope,
  type EnvelopeHeader,
  type FileRef,
  type MessageType,
  newId,
  sealEnvelope,
} from "../protocol/mod.ts";
import { holdEnvelope } from "./files/attach.ts";
import type { EventBus } from "./events.ts";
import type { Keyring } from "./keyring.ts";
import type { Peers } from "./peers.ts";
import type { RelayLink } from "./relay_link.ts";
import type { DaemonStore, OutboxItem } from "./store/mod.ts";
import { TurnBatch } from "./turn_batch.ts";

/** A sealed envelope waiting for its batch's commit, or another write sharing it (`also`). */
type Sealed = ({ spec: SendSpec; envelope: Envelope } | { also: () => void }) & {
  done: (err?: unknown) => void;
  err?: unknown;
  /** Its outbox row, once written (not when held for files). */
  row?: OutboxItem;
};

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

/** Seals and queues envelopes. */
export class Outbox {
  /**
   * A batch always waits for the event loop's next turn: the HTTP server hands over the
   * requests of one turn one after another and each seals within microtasks (the primitives
   * are synchronous), so a batch run in a microtask held one envelope; waiting a turn lets the
   * whole turn's sends share one commit (2.2 per commit at 32 in flight, against 1.0).
   */
  readonly #sealed = new TurnBatch<Sealed>((items) => this.#store(items), () => true);

  constructor(
    private readonly store: DaemonStore,
    private readonly keyring: Keyring,
    private readonly peers: Peers,
    private readonly events: EventBus,
    private readonly deviceId: string,
    private readonly nowIso: () => string,
    private readonly link: RelayLink | null,
    /** Starts uploading the files of envelopes held for them (files/transfers.ts). */
    private readonly kickUploads: () => void = () => {},
  ) {}

  /**
   * Seals and queues one envelope: message row + outbox row + `effects` in one transaction,
   * then wakes the link. Recipients are pinned first (on first contact, from the relay).
   */
  async send(spec: SendSpec): Promise<{ id: string; created_at: string }> {
    const id = newId("msg");
    const created_at = this.nowIso();
    const header: EnvelopeHeader = {
      v: 1,
      id,
      type: spec.type,
      from: spec.from,
      to: spec.to,
      created_at,
      device_id: this.deviceId,
    };
    if (spec.conversation_id) header.conversation_id = spec.conversation_id;
    if (spec.task_id) header.task_id = spec.task_id;
    if (spec.reply_to) header.reply_to = spec.reply_to;
    // Files (design §12): the signed header lists the payload's blobs; the envelope is held
    // until they are uploaded, then moved to the outbox (files/transfers.ts).
    const files = ((spec.payload as { files?: FileRef[] }).files) ?? [];
    if (files.length) header.blobs = files.map((f) => f.blob_id);
    const sender = this.keyring.require(spec.from);
    const recipients = [];
    for (const to of spec.to) {
      const p = await this.peers.ensure(to);
      recipients.push({
        handle: to,
        encryptionPublicKey: decodeBase64Url(p.encryption_public_key),
      });
    }
    const envelope = await sealEnvelope(
      header,
      spec.payload,
      { handle: spec.from, signingPrivateKey: decodeBase64Url(sender.signing_private_key) },
      recipients,
    );
    await new Promise<void>((resolve, reject) =>
      this.#sealed.add({
        spec,
        envelope,
        done: (err) => err === undefined ? resolve() : reject(err),
      })
    );
    return { id, created_at };
  }

  /**
   * Runs `write` in the next group commit of sealed envelopes (in its own savepoint when
   * batched) and resolves after that COMMIT: writes that must be durable before an answer or an
   * ack (idempotency answers, the relay's `accepted` answers and receipts) share the sends'
   * commit instead of taking one of their own (issue 21).
   */
  commitWith(write: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.#sealed.add({ also: write, done: (err) => err === undefined ? resolve() : reject(err) })
    );
  }

  /** Stores a turn's sealed envelopes (and `also` writes) with one commit, then wakes the link. */
  #store(items: Sealed[]) {
    let uploads = false;
    const write = (item: Sealed) => {
      if ("also" in item) return item.also();
      const { spec, envelope } = item;
      const { id, created_at } = envelope;
      this.store.messages.insert(envelope, spec.from, "out", spec.payload, "queued", this.nowIso());
      // Files (design §12): an envelope with blobs is held until they are uploaded, then moved
      // to the outbox (files/transfers.ts).
      const files = ((spec.payload as { files?: FileRef[] }).files) ?? [];
      if (files.length) {
        holdEnvelope(this.store, envelope, spec.from, files, created_at);
        uploads = true;
      } else {
        const text = JSON.stringify(envelope);
        item.row = { seq: this.store.outbox.insert(id, text, created_at), id, envelope: text };
      }
      spec.effects?.(id, created_at);
    };
    try {
      this.store.transaction(() => {
        if (items.length === 1) return write(items[0]!);
        for (const item of items) {
          try {
            this.store.transaction(() => write(item)); // a savepoint: a failure undoes only it
          } catch (err) {
            item.err = err ?? new Error("not stored");
          }
        }
      });
    } catch (err) {
      // The commit itself failed (or the only item did): none of them is stored.
      for (const item of items) item.err ??= err ?? new Error("not stored");
    }
    // The committed rows go to the link as written: it need not read them back (issue 21).
    const written: OutboxItem[] = [];
    for (const { row, err } of items) if (row && err === undefined) written.push(row);
    for (const item of items) {
      if (item.err !== undefined || "also" in item) continue;
      const state = { id: item.envelope.id, state: "queued", type: item.spec.type };
      this.events.emit("message_state", state, item.spec.from);
    }
    if (uploads) this.kickUploads();
    if (written.length) this.link?.flush(written); // else the outbox did not change
    for (const item of items) item.done(item.err);
  }
}
