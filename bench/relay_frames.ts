/**
 * What the relay suite's load generator (bench/relay_load.ts) reads from the relay's frames, and
 * what it answers the suite.
 * @module
 */

/** The answer to `throughput` and `paced`. */
export interface LoadResult {
  total: number;
  accepted: number;
  delivered: number;
  receipts: number;
  /** ms from the first send until every envelope was accepted. */
  acceptedMs: number;
  /** ms from the first send until every envelope was delivered, acked and receipted. */
  elapsedMs: number;
  /** ms from the first send until the last send (paced runs: the achieved pace). */
  sendSpanMs: number;
  /** Send → deliver latency of every delivered envelope, ms. */
  latencies: Float64Array;
  errors: Record<string, number>;
  timedOut: boolean;
}

/** The answer to `echo`. */
export interface EchoResult {
  sequentialPerSecond: number;
  pipelinedPerSecond: number;
}

/** The fields of a relay frame the load generator uses. */
export interface Frame {
  type: string;
  seq?: number;
  id?: string;
  code?: string;
  envelope?: { id?: string };
  receipt?: { id?: string; state?: string };
}

const DELIVER = '{"type":"deliver","seq":';
const RECEIPT = '{"type":"receipt","seq":';
const ACCEPTED = '{"type":"accepted","id":"';

/** The string value after the first `"id":"` from `from`, or undefined. */
function idAfter(data: string, from: number): string | undefined {
  const at = data.indexOf('"id":"', from);
  if (at < 0) return undefined;
  const end = data.indexOf('"', at + 6);
  return end < 0 ? undefined : data.slice(at + 6, end);
}

/**
 * The fields the load generator uses from a relay frame. The hot frames (deliver, receipt,
 * accepted, in the relay's own fixed layout: session.ts, accepts.ts) are read by position
 * rather than parsed, as the NATS harness does not parse its payloads either: a 1.9 KB
 * `deliver` cost the generator a full JSON.parse, on the cores the relay shares. Anything else,
 * or a frame whose layout is not the expected one, is parsed as before.
 */
export function readFrame(data: string): Frame {
  if (data.startsWith(DELIVER) || data.startsWith(RECEIPT)) {
    const deliver = data.charCodeAt(9) === 100; // the "d" of deliver
    const comma = data.indexOf(",", DELIVER.length);
    const seq = Number(data.slice(DELIVER.length, comma));
    // The envelope's and the receipt's id are their first "id" (envelopes: {"v":1,"id":…}).
    const id = idAfter(data, comma);
    if (Number.isInteger(seq) && id !== undefined) {
      if (deliver) return { type: "deliver", seq, envelope: { id } };
      const state = data.includes('"state":"delivered"', comma) ? "delivered" : "other";
      return { type: "receipt", seq, receipt: { id, state } };
    }
  } else if (data.startsWith(ACCEPTED)) {
    const end = data.indexOf('"', ACCEPTED.length);
    if (end > 0) return { type: "accepted", id: data.slice(ACCEPTED.length, end) };
  }
  return JSON.parse(data) as Frame;
}
