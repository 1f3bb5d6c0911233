/** Relay counters and the Prometheus text exposition. */

const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 30000];

/** In-memory metrics of one relay process. */
export class RelayMetrics {
  accepted = 0;
  delivered = 0;
  refused = new Map<string, number>();
  latencyCounts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  latencySum = 0;
  latencyCount = 0;

  /** Counts a refusal by its catalogue code. */
  refuse(code: string) {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  /** Records one accept→deliver latency. */
  observeLatency(ms: number) {
    const i = LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
    this.latencyCounts[i === -1 ? LATENCY_BUCKETS_MS.length : i]!++;
    this.latencySum += ms;
    this.latencyCount++;
  }

  /** Prometheus text format. */
  render(gauges: { connected_clients: number; queue_depth: number }): string {
    const lines = [
      "# HELP taskferry_connected_clients Daemons connected over WebSocket.",
      "# TYPE taskferry_connected_clients gauge",
      `taskferry_connected_clients ${gauges.connected_clients}`,
      "# HELP taskferry_queue_depth Deliveries waiting for an ack.",
      "# TYPE taskferry_queue_depth gauge",
      `taskferry_queue_depth ${gauges.queue_depth}`,
      "# HELP taskferry_envelopes_accepted_total Envelopes accepted.",
      "# TYPE taskferry_envelopes_accepted_total counter",
      `taskferry_envelopes_accepted_total ${this.accepted}`,
      "# HELP taskferry_envelopes_delivered_total Deliveries acked by the recipient daemon.",
      "# TYPE taskferry_envelopes_delivered_total counter",
      `taskferry_envelopes_delivered_total ${this.delivered}`,
      "# HELP taskferry_envelopes_refused_total Envelopes refused, by error code.",
      "# TYPE taskferry_envelopes_refused_total counter",
      ...[...this.refused].map(([code, n]) =>
        `taskferry_envelopes_refused_total{code="${code}"} ${n}`
      ),
      "# HELP taskferry_delivery_latency_ms Accept-to-ack latency in milliseconds.",
      "# TYPE taskferry_delivery_latency_ms histogram",
    ];
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((b, i) => {
      cumulative += this.latencyCounts[i]!;
      lines.push(`taskferry_delivery_latency_ms_bucket{le="${b}"} ${cumulative}`);
    });
    cumulative += this.latencyCounts[LATENCY_BUCKETS_MS.length]!;
    lines.push(`taskferry_delivery_latency_ms_bucket{le="+Inf"} ${cumulative}`);
    lines.push(`taskferry_delivery_latency_ms_sum ${this.latencySum}`);
    lines.push(`taskferry_delivery_latency_ms_count ${this.latencyCount}`);
    return lines.join("\n") + "\n";
  }
}
