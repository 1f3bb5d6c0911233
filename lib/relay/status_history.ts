/**
 * The relay's throughput history for the status page, in memory and bounded: a fine tier (one
 * sample every {@link SAMPLE_INTERVAL_MS}, the last 15 minutes) and a coarse tier (the first
 * sample of each minute, the last 24 hours). At most 180 + 1,440 small records (~100 KB), lost
 * on restart: it is a picture of recent traffic, not an audit trail. Rates are per minute
 * between neighbouring samples, so both tiers read in the same unit.
 */

/** Sampling period of the fine tier. */
export const SAMPLE_INTERVAL_MS = 5_000;
/** Fine tier: 180 samples × 5 s = 15 minutes. */
export const FINE_KEEP = 180;
/** Coarse tier: one sample a minute for 24 hours. */
export const COARSE_KEEP = 1_440;
const MINUTE = 60_000;

/** The relay's counters at one moment. */
export interface Sample {
  at: number;
  accepted: number;
  delivered: number;
  queue_depth: number;
  connected_clients: number;
}

/** The ranges GET /v1/stats?range= offers, and the tier and span behind each. */
export const STATUS_RANGES = {
  "15m": { tier: "fine", spanMs: 15 * MINUTE },
  "1h": { tier: "coarse", spanMs: 60 * MINUTE },
  "24h": { tier: "coarse", spanMs: 24 * 60 * MINUTE },
} as const;

/** A range name. */
export type StatusRange = keyof typeof STATUS_RANGES;

/** One point of a chart: rates since the previous sample, and the gauges at `at`. */
export interface SeriesPoint {
  at: string;
  accepted_per_minute: number;
  delivered_per_minute: number;
  queue_depth: number;
  connected_clients: number;
}

/** Two bounded tiers of samples. */
export class StatusHistory {
  readonly fine: Sample[] = [];
  readonly coarse: Sample[] = [];

  /** Adds a sample (times must not go backwards; a sample from the past is ignored). */
  add(s: Sample): void {
    const last = this.fine.at(-1);
    if (last && s.at < last.at) return;
    this.fine.push(s);
    if (this.fine.length > FINE_KEEP) this.fine.splice(0, this.fine.length - FINE_KEEP);
    const lastCoarse = this.coarse.at(-1);
    if (!lastCoarse || Math.floor(s.at / MINUTE) > Math.floor(lastCoarse.at / MINUTE)) {
      this.coarse.push(s);
      if (this.coarse.length > COARSE_KEEP) {
        this.coarse.splice(0, this.coarse.length - COARSE_KEEP);
      }
    }
  }

  /** The most recent sample. */
  last(): Sample | undefined {
    return this.fine.at(-1);
  }

  /**
   * Points of `range` ending with `now` (the counters at request time) when it is at least a
   * second past the last stored sample. The first stored sample has no rate, so no point.
   */
  series(range: StatusRange, now?: Sample): SeriesPoint[] {
    const { tier, spanMs } = STATUS_RANGES[range];
    const end = now?.at ?? this.last()?.at ?? 0;
    const all = (tier === "fine" ? this.fine : this.coarse).filter((s) => s.at >= end - spanMs);
    const last = all.at(-1);
    if (now && last && now.at - last.at >= 1000) all.push(now);
    return all.slice(1).map((s, i) => {
      const prev = all[i]!;
      const minutes = Math.max(1, s.at - prev.at) / MINUTE;
      const rate = (a: number, b: number) => Math.round((Math.max(0, a - b) / minutes) * 10) / 10;
      return {
        at: new Date(s.at).toISOString(),
        accepted_per_minute: rate(s.accepted, prev.accepted),
        delivered_per_minute: rate(s.delivered, prev.delivered),
        queue_depth: s.queue_depth,
        connected_clients: s.connected_clients,
      };
    });
  }
}
