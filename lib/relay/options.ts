/**
 * The relay's behaviour settings and their defaults, in one place (the CLI resolves them from
 * flags, environment and config file; tests pass partial overrides).
 */
import type { AcceptLimits } from "./accept.ts";
import { DEFAULT_BLOB_LIMITS } from "./blobs/rules.ts";

/** Relay behaviour settings. */
export interface RelayOptions extends AcceptLimits {
  /** How long undelivered envelopes wait before a `failed` receipt. */
  retentionMs: number;
  /** How long delivered envelopes are kept before pruning. */
  deliveredRetentionMs: number;
  helloTimeoutMs: number;
  retryBaseMs: number;
  sweepIntervalMs: number;
  /** Frames a socket may have waiting before it is closed as overloaded. */
  maxQueuedFrames: number;
  /** Bytes of deliveries a session may have pushed and not acked (at least one is always out). */
  maxUnackedBytes: number;
  /** How often live sessions' credentials are re-read, so a rotation or revocation ends them. */
  credentialCheckMs: number;
  /** Agents one client may register. */
  maxAgentsPerClient: number;
  publicUrl: string;
  openSignup: boolean;
  /** Largest file (plaintext bytes) one blob may hold (design §12). */
  maxFileBytes: number;
  /** Sealed blob bytes one client may keep on the relay at once. */
  blobQuotaBytes: number;
  /** The clock accepts are stamped and rate-limited by (tests shift it off minute boundaries). */
  now: () => number;
}

/** Defaults for {@link RelayOptions}. */
export const DEFAULT_RELAY_OPTIONS: RelayOptions = {
  maxEnvelopeBytes: 2 * 1024 * 1024,
  clockSkewMs: 5 * 60_000,
  clientRatePerMinute: 60_000,
  connectionRequestsPerMinute: 30,
  // A stranger's requests to one agent, and one client's requests in all: enough for a busy
  // public agent and a client with many agents, too few to fill a store.
  connectionRequestsPerRecipientPerMinute: 60,
  connectionRequestsPerClientPerMinute: 120,
  retentionMs: 7 * 86_400_000,
  deliveredRetentionMs: 86_400_000,
  helloTimeoutMs: 5_000,
  retryBaseMs: 5_000,
  sweepIntervalMs: 60_000,
  maxQueuedFrames: 4096,
  // Eight full envelopes: a recipient that reads but never acks cannot draw more than this.
  maxUnackedBytes: 16 * 1024 * 1024,
  credentialCheckMs: 1_000,
  maxAgentsPerClient: 100,
  publicUrl: "http://127.0.0.1:8080",
  openSignup: false,
  maxFileBytes: DEFAULT_BLOB_LIMITS.maxFileBytes,
  blobQuotaBytes: DEFAULT_BLOB_LIMITS.quotaBytes,
  now: Date.now,
};
