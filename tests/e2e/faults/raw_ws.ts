/**
 * A raw WebSocket client (RFC 6455 over `Deno.connect`) for hostile tests: it sends frames with
 * any opcode, any payload bytes (invalid UTF-8 in a text frame, binary), fragmented or cut off
 * mid-frame, and records what the server answers (text frames and the close code).
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** WebSocket opcodes. */
export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** A frame the server sent. */
export interface ServerFrame {
  opcode: number;
  payload: Uint8Array;
}

/** One raw connection. */
export class RawWs {
  /** Text frames from the server, parsed as JSON when they are JSON. */
  readonly messages: unknown[] = [];
  /** The close code the server sent (1006 when the TCP connection ended without one). */
  closeCode = 1006;
  closeReason = "";
  /** Resolves when the TCP connection has ended. */
  readonly ended: Promise<void>;
  private waiters: (() => void)[] = [];
  private done = false;
  private endResolve!: () => void;

  private constructor(private readonly conn: Deno.TcpConn, initial: Uint8Array) {
    this.ended = new Promise((r) => (this.endResolve = r));
    this.readLoop(initial).catch(() => {}).finally(() => {
      this.done = true;
      try {
        this.conn.close();
      } catch {
        // already closed
      }
      this.endResolve();
      this.wake();
    });
  }

  /** Opens `url` (ws://host:port/path) and completes the handshake. */
  static async connect(url: string): Promise<RawWs> {
    const u = new URL(url);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    conn.setNoDelay(true);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    let buf: Uint8Array = new Uint8Array(0);
    for (;;) {
      const chunk = new Uint8Array(16_384);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("connection closed during the handshake");
      buf = concat(buf, chunk.subarray(0, n));
      const end = headerEnd(buf);
      if (end < 0) continue;
      const head = decoder.decode(buf.subarray(0, end));
      if (!/^HTTP\/1\.1 101 /.test(head)) {
        conn.close();
        throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
      }
      return new RawWs(conn, buf.subarray(end + 4));
    }
  }

  /** Sends one frame (masked, as a client must). `fin` false starts or continues a fragment. */
  async frame(opcode: number, payload: Uint8Array | string, fin = true): Promise<void> {
    await writeAll(this.conn, encodeFrame(opcode, payload, fin));
  }

  /** Sends a JSON text frame. */
  async json(value: unknown): Promise<void> {
    await this.frame(OP.text, typeof value === "string" ? value : JSON.stringify(value));
  }

  /** Writes raw bytes (e.g. the first half of a frame). */
  async bytes(data: Uint8Array): Promise<void> {
    await writeAll(this.conn, data);
  }

  /** Waits until `match` holds for a received message (or the connection ends). */
  async waitFor(match: (m: unknown) => boolean, timeoutMs = 5000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find(match);
      if (hit !== undefined) return hit;
      if (this.done) throw new Error(`connection ended (close ${this.closeCode}) before a match`);
      if (Date.now() > deadline) throw new Error("timed out waiting for a message");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits (bounded) for the connection to end; true when it did. */
  async waitEnded(timeoutMs = 5000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      this.ended.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return ok;
  }

  /** Ends the TCP connection without a close frame. */
  abort() {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  /** Sends a close frame and waits (bounded) for the end. */
  async close(code = 1000): Promise<void> {
    if (!this.done) {
      const p = new Uint8Array([code >> 8, code & 0xff]);
      await this.frame(OP.close, p).catch(() => {});
      if (!(await this.waitEnded(1000))) this.abort();
    }
    await this.ended;
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  private async readLoop(initial: Uint8Array) {
    let buf = initial;
    const parts: Uint8Array[] = [];
    for (;;) {
      for (;;) {
        const f = decodeFrame(buf);
        if (!f) break;
        buf = buf.subarray(f.size);
        if (f.opcode === OP.close) {
          if (f.payload.length >= 2) {
            this.closeCode = (f.payload[0]! << 8) | f.payload[1]!;
            this.closeReason = decoder.decode(f.payload.subarray(2));
          } else this.closeCode = 1005;
          await writeAll(this.conn, encodeFrame(OP.close, f.payload.subarray(0, 2), true))
            .catch(() => {});
          return;
        }
        if (f.opcode === OP.ping) {
          await writeAll(this.conn, encodeFrame(OP.pong, f.payload, true)).catch(() => {});
          continue;
        }
        if (f.opcode === OP.text || f.opcode === OP.continuation) {
          parts.push(f.payload);
          if (!f.fin) continue;
          const text = decoder.decode(concat(...parts.splice(0)));
          let value: unknown = text;
          try {
            value = JSON.parse(text);
          } catch {
            // keep the text
          }
          this.messages.push(value);
          this.wake();
        }
      }
      const chunk = new Uint8Array(65_536);
      const n = await this.conn.read(chunk);
      if (n === null) return;
      buf = concat(buf, chunk.subarray(0, n));
    }
  }
}

/** Encodes one masked client frame. */
export function encodeFrame(opcode: number, payload: Uint8Array | string, fin = true): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const len = data.length;
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (len < 126) head.push(0x80 | len);
  else if (len < 65_536) head.push(0x80 | 126, len >> 8, len & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const out = new Uint8Array(head.length + 4 + len);
  out.set(head, 0);
  out.set(mask, head.length);
  const at = head.length + 4;
  for (let i = 0; i < len; i++) out[at + i] = data[i]! ^ mask[i & 3]!;
  return out;
}

function decodeFrame(
  buf: Uint8Array,
): { opcode: number; fin: boolean; payload: Uint8Array; size: number } | null {
  if (buf.length < 2) return null;
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = (buf[2]! << 8) | buf[3]!;
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = 0;
    for (let i = 2; i < 10; i++) len = len * 256 + buf[i]!;
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buf.length < at + len) return null;
  const payload = buf.slice(at, at + len);
  if (masked) { for (let i = 0; i < len; i++) payload[i]! ^= buf[maskAt + (i & 3)]!; }
  return { opcode, fin, payload, size: at + len };
}

function headerEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array) {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}
