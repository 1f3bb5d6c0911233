/**
 * The daemon's timing knobs in one place (like the relay's DEFAULT_RELAY_OPTIONS), each with
 * why its default is what it is. Tests shorten some through DaemonOptions.
 */
export const DEFAULT_DAEMON_OPTIONS = {
  /**
   * How often task deadlines are swept and unsynced permissions pushed to the relay. Deadlines
   * are set in minutes or more; 5 s keeps expiry prompt at negligible cost.
   */
  sweepMs: 5_000,
  /** First reconnect delay: a relay restart is usually back within a second. */
  minBackoffMs: 250,
  /** Longest reconnect delay: a long outage costs at most one attempt per 30 s. */
  maxBackoffMs: 30_000,
  /** Longest `GET /v1/inbox?wait=` in seconds: bounds how long one socket stays open. */
  maxWaitSeconds: 300,
  /** Keepalive on event streams: below the 30–60 s idle timeouts of common proxies. */
  streamKeepaliveMs: 15_000,
  /**
   * Total size of the quarantine. Strangers can make us hold envelopes; 16 MiB holds thousands
   * of items (4 KB each) and a few whole key-changed envelopes, and is a bounded cost on disk.
   */
  quarantineMaxBytes: 16 * 1024 * 1024,
} as const;
