/**
 * A peer to measure the relay against: NATS JetStream (Debian's `nats-server`), started on a
 * temp dir and loopback port, driven by a minimal client of the NATS text protocol written here
 * (CONNECT, PUB with a reply subject, SUB, MSG, PING/PONG) — enough for JetStream's publish
 * acknowledgements and a push consumer with explicit acks. No library: nats.js would be a
 * dependency for a benchmark only, and the protocol is a few lines.
 * @module
 */
import { join } from "node:path";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A running nats-server with JetStream on a temp store. */
export interface NatsServer {
  port: number;
  close(): Promise<void>;
}

/** The nats-server binary, or undefined when it is not installed. */
export function findNatsServer(): string | undefined {
  for (
    const path of ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
  ) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* next */ }
  }
  return undefined;
}

/** Starts `nats-server -js` on a free loopback port; resolves when it accepts connections. */
export async function startNats(binary: string): Promise<NatsServer> {
  const dir = await Deno.makeTempDir({ prefix: "tf-nats-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(binary, {
    args: ["-js", "-sd", join(dir, "js"), "-a", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25)); // the server is starting: poll its port
    }
  }
  return {
    port,
    async close() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A message delivered on a subscription. */
export interface NatsMsg {
  subject: string;
  reply: string | undefined;
  data: Uint8Array;
}

/** One NATS connection: publish, subscribe, request, with writes batched per turn. */
export class NatsConn {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  #out: Uint8Array[] = [];
  #flushing = false;
  #subs = new Map<number, (msg: NatsMsg) => void>();
  #nextSid = 1;
  #pongs: (() => void)[] = [];

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects and completes the INFO/CONNECT handshake. */
  static async connect(port: number): Promise<NatsConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const nc = new NatsConn(conn);
    nc.#write(`CONNECT {"verbose":false,"pedantic":false,"headers":false,"protocol":1}\r\n`);
    nc.#readLoop();
    await nc.ping();
    return nc;
  }

  /** Round trip to the server (all earlier writes are processed when it resolves). */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.#pongs.push(resolve);
      this.#write("PING\r\n");
    });
  }

  /** Publishes `data` on `subject`, with an optional reply subject. */
  publish(subject: string, data: Uint8Array, reply?: string) {
    const head = encoder.encode(`PUB ${subject}${reply ? ` ${reply}` : ""} ${data.length}\r\n`);
    this.#out.push(head, data, encoder.encode("\r\n"));
    this.#schedule();
  }

  /** Subscribes `fn` to `subject`; returns the subscription id. */
  subscribe(subject: string, fn: (msg: NatsMsg) => void): number {
    const sid = this.#nextSid++;
    this.#subs.set(sid, fn);
    this.#write(`SUB ${subject} ${sid}\r\n`);
    return sid;
  }

  /** A request/reply on a one-off inbox (JetStream's API). */
  async request(subject: string, body: unknown): Promise<unknown> {
    const inbox = `_INBOX.${crypto.randomUUID().replaceAll("-", "")}`;
    const answer = new Promise<NatsMsg>((resolve) => this.subscribe(inbox, resolve));
    this.publish(subject, encoder.encode(JSON.stringify(body)), inbox);
    const msg = await answer;
    const parsed = JSON.parse(decoder.decode(msg.data)) as { error?: { description: string } };
    if (parsed.error) throw new Error(`nats ${subject}: ${parsed.error.description}`);
    return parsed;
  }

  close() {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }

  #write(text: string) {
    this.#out.push(encoder.encode(text));
    this.#schedule();
  }

  #schedule() {
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(async () => {
      try {
        while (this.#out.length) {
          const parts = this.#out;
          this.#out = [];
          const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of parts) {
            total.set(p, at);
            at += p.length;
          }
          for (let off = 0; off < total.length;) off += await this.#conn.write(total.subarray(off));
        }
      } catch {
        /* connection closed */
      } finally {
        this.#flushing = false;
      }
    });
  }

  async #readLoop() {
    const chunk = new Uint8Array(256 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(chunk);
        if (n === null) return;
        const merged = new Uint8Array(this.#buf.length + n);
        merged.set(this.#buf);
        merged.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = merged;
        this.#parse();
      }
    } catch { /* closed */ }
  }

  #parse() {
    let at = 0;
    const buf = this.#buf;
    while (true) {
      const eol = buf.indexOf(10, at);
      if (eol < 0) break;
      const line = decoder.decode(buf.subarray(at, eol - 1));
      if (line.startsWith("MSG ")) {
        // MSG <subject> <sid> [reply] <bytes>
        const parts = line.split(" ");
        const size = Number(parts[parts.length - 1]);
        if (eol + 1 + size + 2 > buf.length) break; // wait for the whole payload
        const data = buf.slice(eol + 1, eol + 1 + size);
        const reply = parts.length === 5 ? parts[3] : undefined;
        this.#subs.get(Number(parts[2]))?.({ subject: parts[1]!, reply, data });
        at = eol + 1 + size + 2;
        continue;
      }
      if (line === "PING") this.#write("PONG\r\n");
      else if (line === "PONG") this.#pongs.shift()?.();
      else if (line.startsWith("-ERR")) console.error(`nats: ${line}`);
      at = eol + 1;
    }
    this.#buf = buf.slice(at);
  }
}

/** Result of one JetStream run. */
export interface JetStreamResult {
  total: number;
  /** Publish → all PubAcks received (persisted in the stream). */
  publishMs: number;
  /** Publish → every message delivered to its consumer and acked. */
  endToEndMs: number;
}

/**
 * `senders` connections each publish `perSender` messages of `payload` bytes to their own
 * subject with at most `window` unacknowledged publishes, and `senders` recipient connections
 * each consume their subject through a push consumer with explicit acks (the shape of the relay
 * suite: N senders → N recipients, a bounded window, store before acknowledging).
 */
export async function jetStreamRun(
  port: number,
  senders: number,
  perSender: number,
  window: number,
  payload: Uint8Array,
): Promise<JetStreamResult> {
  const admin = await NatsConn.connect(port);
  const stream = `BENCH${crypto.randomUUID().slice(0, 8)}`;
  await admin.request(`$JS.API.STREAM.CREATE.${stream}`, {
    name: stream,
    subjects: [`${stream}.>`],
    storage: "file",
    retention: "limits",
    max_msg_size: payload.length * 2,
  });
  const total = senders * perSender;
  let delivered = 0;
  let published = 0;
  let resolveDone: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  const check = () => {
    if (delivered === total && published === total) resolveDone();
  };
  const recipients: NatsConn[] = [];
  for (let i = 0; i < senders; i++) {
    const nc = await NatsConn.connect(port);
    const deliver = `deliver.${stream}.${i}`;
    nc.subscribe(deliver, (msg) => {
      if (msg.reply) nc.publish(msg.reply, new Uint8Array(0)); // explicit ack
      delivered++;
      check();
    });
    await nc.ping();
    await admin.request(`$JS.API.CONSUMER.CREATE.${stream}`, {
      stream_name: stream,
      config: {
        deliver_subject: deliver,
        filter_subject: `${stream}.${i}`,
        ack_policy: "explicit",
        max_ack_pending: 100_000,
        deliver_policy: "all",
      },
    });
    recipients.push(nc);
  }
  const sendersConns = await Promise.all(
    Array.from({ length: senders }, () => NatsConn.connect(port)),
  );
  let publishDoneAt = 0;
  const start = performance.now();
  await Promise.all(sendersConns.map((nc, i) =>
    new Promise<void>((resolve) => {
      const inbox = `_INBOX.${stream}.${i}`;
      let sent = 0;
      let acked = 0;
      const pump = () => {
        while (sent < perSender && sent - acked < window) {
          nc.publish(`${stream}.${i}`, payload, inbox);
          sent++;
        }
      };
      nc.subscribe(inbox, () => {
        acked++;
        published++;
        if (published === total) publishDoneAt = performance.now();
        check();
        if (acked === perSender) resolve();
        else pump();
      });
      nc.ping().then(pump);
    })
  ));
  await done;
  const end = performance.now();
  for (const nc of [admin, ...recipients, ...sendersConns]) nc.close();
  return { total, publishMs: (publishDoneAt || end) - start, endToEndMs: end - start };
}
