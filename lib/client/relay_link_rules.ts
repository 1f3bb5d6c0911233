/**
 * The relay link's contract with the daemon (its host), its settings and its fixed rules: which
 * relay codes are retried, which hello refusals stop retrying, window and keepalive timings.
 */
import type { ErrorCode, PresenceFrame, RelayReceipt } from "../protocol/mod.ts";
import type { OutboxItem } from "./store/mod.ts";
import type { BatchResult, Delivery } from "./inbound.ts";

/** What the link needs from the daemon. */
export interface LinkHost {
  /**
   * Stores and applies delivered envelopes in order, with one commit; the link acks the first
   * `stored` and reconnects if that is fewer than all. Throw to leave all of them unacked.
   */
  deliver(items: readonly Delivery[]): Promise<BatchResult>;
  /** Applies the relay's receipts of one socket read together; throw to leave them unacked. */
  receipts(receipts: RelayReceipt[]): Promise<void>;
  accepted(id: string, at: string): void;
  /** Runs several `accepted` calls as one unit (one transaction, maybe awaited); optional. */
  batch?(fn: () => void): void | Promise<void>;
  refused(id: string, code: ErrorCode, message: string): void;
  pendingOutbox(afterSeq: number, limit: number): OutboxItem[];
  status(connected: boolean, detail?: string): void;
  /** Called once when the link stops, after the last delivery was handled. */
  stopping?(): Promise<void>;
  /** Presence (design §13): what to announce on each session, and the relay's reports. */
  presence?: {
    scope(): { agents: string[]; watch: string[] };
    apply(frame: PresenceFrame): void;
  };
}

/**
 * Relay error codes worth retrying: the envelope may be accepted later as it is. A full
 * open-task limit is not among them: the requester is told (the task request fails and the
 * task is rolled back) rather than left waiting without a word.
 */
export const TRANSIENT: readonly string[] = ["rate_limited", "unavailable", "internal"];
/** Hello refusals no retry can fix: the token is wrong, rotated or the client revoked. */
export const FATAL: readonly string[] = ["unauthorized", "client_revoked"];
export const WINDOW = 256;
export const PING_MS = 20_000;
export const DEAD_MS = 50_000;
/** Room around an envelope in a `deliver` frame; the limit itself comes with `welcome`. */
export const FRAME_OVERHEAD = 64 * 1024;
export const DEFAULT_MAX_ENVELOPE = 2 * 1024 * 1024;

/** What the owner must do when the relay refuses the token (shown in logs, status and health). */
export function tokenRefusedMessage(clientId: string, code: string, detail: string): string {
  return `the relay refused this client's token (${code}: ${detail}); not retrying. ` +
    `Get a new setup link and run \`taskferry client --setup -\`, or ask the relay operator to ` +
    `run \`taskferry relay rotate-token ${clientId}\` and send you the new link`;
}

/** Connection settings. */
export interface LinkOptions {
  relayUrl: string;
  clientId: string;
  token: string;
  deviceId: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Extra trusted CA certificates (PEM) for a `wss://` relay with a private CA. */
  caCerts?: string[];
}

/** A delivery sequence number as the relay sends it. */
export function isSeq(seq: unknown): seq is number {
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 1;
}
