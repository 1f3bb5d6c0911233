/**
 * The relay's accept pipeline for envelopes from live sessions. An envelope's signature check
 * starts as soon as its frame is read (verify_pool.ts: on the signature Worker, alongside the
 * session's earlier envelopes); the stateful checks and the write then run in the session's
 * order inside the turn's group commit (store/group.ts: SQLite, PostgreSQL), and every answer
 * goes out after the COMMIT, in the order of the frames.
 */
import { type Envelope, fail, TaskferryError } from "../protocol/mod.ts";
import { closeStale } from "./credentials.ts";
import { logger } from "../log.ts";
import {
  checkRouting,
  checkSignedEnvelope,
  lockKeys,
  type RateCheck,
  type SignatureCheck,
} from "./accept.ts";
import type { RelayMetrics } from "./metrics.ts";
import type { RelayOptions } from "./options.ts";
import type { BlobService } from "./blobs/service.ts";
import type { Session } from "./session.ts";
import type { SignatureVerifier } from "./verify_pool.ts";
import type { DeliveryRow, RelayStore } from "./store.ts";
import { type GroupCommit, groupCommitOf } from "./store/group.ts";

const log = logger("relay");

/** An envelope whose signature verified, and the sender's key it verified with. */
interface Signed {
  envelope: Envelope;
  key: string;
}

/** What the pipeline needs from its relay. */
export interface AcceptHost {
  readonly store: RelayStore;
  readonly options: RelayOptions;
  readonly metrics: RelayMetrics;
  /** Set when the relay stops: envelopes not yet checked are left for the daemon to resend. */
  readonly stopped: boolean;
  /** Hands a delivery row just committed to its recipient's session. */
  offer(clientId: string, row: DeliveryRow): void;
  /** Files (design §12): the relay's blob service, or null when it stores no files. */
  readonly blobs: BlobService | null;
  /** Where signatures are checked (verify_pool.ts); absent: on this thread. */
  readonly signatures?: SignatureVerifier;
}

/** The accept pipeline of one relay. */
export class Accepts {
  /** The store's group commit of accepts. */
  private readonly group: GroupCommit;

  /** The host's signature check, or undefined: checkSignedEnvelope's own. */
  private readonly verify: SignatureCheck | undefined;

  constructor(private readonly host: AcceptHost, private readonly rateCheck: RateCheck) {
    const group = groupCommitOf(host.store);
    if (!group) throw new Error("the relay store has no group commit");
    this.group = group;
    const signatures = host.signatures;
    this.verify = signatures && ((envelope, key) => signatures.verify(envelope, key));
  }

  /** Resolves when every envelope taken so far is stored and answered (or refused). */
  async idle() {
    await this.group.idle();
  }

  /**
   * Checks and accepts one envelope from `session`; answers `accepted` or an error. Resolves
   * once answered. The signature check starts at once (on the signature Worker,
   * alongside the session's earlier envelopes); the stateful checks and the write run in the
   * session's order in the turn's group commit, and the answer and the
   * pushes to recipients go out after its COMMIT, in the order the accepts ran.
   */
  send(session: Session, raw: unknown, frameBytes: number): Promise<void> {
    const id =
      typeof raw === "object" && raw !== null && typeof (raw as { id?: unknown }).id === "string"
        ? (raw as { id: string }).id.slice(0, 64)
        : undefined;
    // Frame overhead is ~30 bytes; the limit applies to the envelope itself.
    const verified = checkSignedEnvelope(
      this.host.store,
      session,
      this.host.options,
      raw,
      Math.max(0, frameBytes - 30),
      this.verify,
    ).then((v) => ({ envelope: v.envelope, key: v.sender.signing_public_key }));
    return this.inOrder(session, verified, id);
  }

  /**
   * Answers a frame refused before its envelope could be read, after the answers to the
   * session's earlier envelopes.
   */
  refuseInOrder(session: Session, err: TaskferryError, id?: string): Promise<void> {
    const frame = { type: "error" as const, code: err.code, message: err.message };
    return this.answerInOrder(session, () => session.send({ ...frame, ...(id ? { id } : {}) }));
  }

  /** Runs `answer` (a frame that answers no envelope, e.g. `pong`) after the earlier answers. */
  answerInOrder(session: Session, answer: () => void): Promise<void> {
    return this.lane(session, () => Promise.resolve({ answered: this.group.afterCommit(answer) }));
  }

  private inOrder(session: Session, verified: Promise<Signed>, id: string | undefined) {
    verified.catch(() => {}); // answered in order by enter()
    return this.lane(session, () => this.enter(session, verified, id));
  }

  /**
   * The session's frames enter in the order they came (`session.accepting`), one after another
   * (each resolves once it has entered the group commit); their answers come after.
   */
  private lane(session: Session, enter: () => Promise<{ answered: Promise<void> }>) {
    const entered = session.accepting.then(enter);
    session.accepting = entered.then(() => {}, () => {});
    return entered.then((e) => e.answered);
  }

  /** The stateful part of {@link send}, in the session's order. */
  private async enter(
    session: Session,
    verified: Promise<Signed>,
    id: string | undefined,
  ): Promise<{ answered: Promise<void> }> {
    let envelope: Envelope | null = null;
    let signedWith: string | undefined;
    let refusal: unknown = null;
    try {
      ({ envelope, key: signedWith } = await verified);
    } catch (err) {
      refusal = err;
    }
    // Stopped while the signature was checked: the store is closing; the daemon resends.
    if (this.host.stopped) return { answered: Promise.resolve() };
    const at = this.host.options.now();
    const body = envelope ? JSON.stringify(envelope) : "";
    // A refusal goes through the group too, so that it is answered after the session's
    // earlier envelopes.
    const hint = envelope
      ? { envelope, senderClient: session.clientId, at, locks: lockKeys(envelope) }
      : undefined;
    const answered = this.group.grouped(async (store) => {
      if (!envelope) throw refusal;
      const row = this.rowOf(session, envelope, body, at);
      // The insert is the replay check (before every other, as in checkRouting).
      await store.insertEnvelope(row);
      // Shared rate limits are counted in the group's write when the store does (PostgreSQL).
      const take = store.takeRates?.bind(store);
      const checked = await checkRouting(
        store,
        session,
        this.host.options,
        take ? { takeAll: take } : this.rateCheck,
        envelope,
        at,
        true,
        signedWith,
      );
      await this.grantBlobs(session, envelope, checked.recipientClients);
      return await store.queueEnvelope(row, checked.recipientClients, checked.effects);
    }, (outcome, commitError) => {
      if (!outcome.ok) this.refuse(session, outcome.error, id);
      else if (commitError !== undefined) this.refuse(session, commitError, id);
      else this.accepted(session, envelope!, body, at, outcome.value);
    }, hint);
    return { answered };
  }

  /**
   * Files (design §12): the header's blobs must be the sender's finished uploads; the
   * recipients' clients may then download them. Last of the checks, so a refused envelope
   * grants nothing (the grant lives in the blob store, outside this transaction: an envelope
   * refused by its commit leaves readers able to fetch ciphertext they hold no key for).
   */
  private async grantBlobs(session: Session, envelope: Envelope, recipients: string[]) {
    if (!envelope.blobs?.length) return;
    if (!this.host.blobs) throw fail("blob_not_found", "this relay stores no files");
    await this.host.blobs.grant(session.clientId, envelope.blobs, recipients);
  }

  private rowOf(session: Session, envelope: Envelope, body: string, at: number) {
    return {
      id: envelope.id,
      sender_client: session.clientId,
      from: envelope.from,
      to: envelope.to,
      type: envelope.type,
      body,
      accepted_at: at,
    };
  }

  /** Answers a stored envelope and hands its deliveries to the recipients' sessions. */
  private accepted(
    session: Session,
    envelope: Envelope,
    body: string,
    at: number,
    queued: { client_id: string; seq: number }[],
  ) {
    this.host.metrics.accepted++;
    session.send({ type: "accepted", id: envelope.id, at: new Date(at).toISOString() });
    for (const q of queued) {
      this.host.offer(q.client_id, {
        seq: q.seq,
        kind: "envelope",
        body,
        envelope_id: envelope.id,
        accepted_at: at,
        attempts: 0,
      });
    }
  }

  /** Answers a refused envelope (nothing of it was stored). */
  private refuse(session: Session, err: unknown, id: string | undefined) {
    const e = err instanceof TaskferryError ? err : fail("internal");
    if (!(err instanceof TaskferryError)) log.error("send failed", { err });
    this.host.metrics.refuse(e.code);
    session.send({ type: "error", code: e.code, message: e.message, ...(id ? { id } : {}) });
    // The sender's credentials no longer hold (checkSender): the session ends, as it would
    // at its next frame (credentials.ts).
    if (e.code === "client_revoked" || e.code === "unauthorized") closeStale(session, e);
  }
}
