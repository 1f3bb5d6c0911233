/** Helpers shared by the daemon suites: delivery hooks, raw HTTP, direct database reads. */
import type { MessageView } from "../../lib/sdk/mod.ts";
import { all, get } from "../../lib/store/mod.ts";
import type { TestDaemon } from "./world.ts";

/** The handles the world uses. */
export const ALICE = "@alice/requester";
export const BOB = "@bob/writer";

/**
 * Hooks `t`'s inbound pipeline: counts deliveries per envelope id and, when a batch holds an
 * envelope whose type is in `crashTypes` on its first delivery, fails the batch *after* it was
 * stored — like a daemon that dies between its commit and its acks. The link then reconnects
 * and the relay delivers the whole batch again.
 */
export function hookDeliveries(
  t: TestDaemon,
  opts: {
    crashTypes?: readonly string[];
    /** Runs before the real pipeline (e.g. to hold a delivery). */
    before?: (envelope: { id: string; type: string }, attempt: number) => Promise<void>;
  } = {},
): Map<string, number> {
  const inbound = t.running.daemon.inbound;
  const original = inbound.deliverBatch;
  const seen = new Map<string, number>();
  inbound.deliverBatch = async (items) => {
    let crash: string | undefined;
    for (const { envelope: raw } of items) {
      const envelope = raw as { id: string; type: string };
      const attempt = (seen.get(envelope.id) ?? 0) + 1;
      seen.set(envelope.id, attempt);
      await opts.before?.(envelope, attempt);
      if (attempt === 1 && opts.crashTypes?.includes(envelope.type)) crash ??= envelope.type;
    }
    const result = await original(items);
    if (crash) throw new Error(`simulated crash after storing ${crash}, before the acks`);
    return result;
  };
  return seen;
}

/** Every inbox item of `agent` (all pages). */
export async function wholeInbox(t: TestDaemon, agent: string): Promise<MessageView[]> {
  const items: MessageView[] = [];
  let after = 0;
  for (;;) {
    const page = await t.api.inbox({ agent, after, limit: 500 });
    items.push(...page.items);
    if (page.items.length < 500) return items;
    after = page.next_after;
  }
}

/** A count from the daemon's database. */
export function dbCount(t: TestDaemon, sql: string, ...params: (string | number)[]): number {
  return get<{ n: number }>(t.running.daemon.db, sql, ...params)?.n ?? 0;
}

/**
 * Envelopes a daemon has queued to send, receipts left out: its batched `delivered` receipts for
 * earlier messages go out on their own, whatever a test does meanwhile.
 */
export function outboxCount(t: TestDaemon): number {
  return dbCount(
    t,
    `SELECT count(*) AS n FROM outbox o
       JOIN messages m ON m.id = o.id AND m.direction = 'out' WHERE m.type != 'receipt'`,
  );
}

/** Rows from the daemon's database. */
export function dbRows<T extends object>(
  t: TestDaemon,
  sql: string,
  ...params: (string | number)[]
): T[] {
  return all<T>(t.running.daemon.db, sql, ...params);
}

/** Sleeps `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw HTTP/1.1 answer. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Sends a raw HTTP/1.1 request over TCP (so the Host header, which fetch does not let a caller
 * set, can be anything) and reads the whole answer.
 */
export async function rawHttp(
  port: number,
  head: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  const lines = [head, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  const bytes = new TextEncoder().encode(body ?? "");
  if (body !== undefined) lines.push(`Content-Length: ${bytes.length}`);
  lines.push("Connection: close");
  const request = new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n" + (body ?? ""));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  try {
    let written = 0;
    while (written < request.length) written += await conn.write(request.subarray(written));
    const buf = new Uint8Array(16_384);
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error("raw HTTP answer took too long");
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
  const raw = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    raw.set(c, at);
    at += c.length;
  }
  const all = new TextDecoder().decode(raw);
  const split = all.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = all.slice(0, split).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "")?.[1] ?? "0");
  const h = new Headers();
  for (const line of headerLines) {
    const i = line.indexOf(":");
    h.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  let text = all.slice(split + 4);
  if (/chunked/i.test(h.get("transfer-encoding") ?? "")) text = unchunk(text);
  return { status, headers: h, text };
}

function unchunk(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    if (eol < 0) return out;
    const size = parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
