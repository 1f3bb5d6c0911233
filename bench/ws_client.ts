/**
 * A minimal WebSocket client (RFC 6455, `ws://` only, text frames) over `Deno.connect` with
 * TCP_NODELAY on — benchmark use only.
 *
 * Why it exists: Deno's built-in `WebSocket` client writes a frame whose payload exceeds
 * 1,024 bytes as two writes (header, then payload) on a socket with Nagle's algorithm on. The
 * payload then waits for the ACK of the header, which the receiver delays (~40 ms on Linux):
 * every client → server message over 1 KB stalls ~44 ms on loopback (see docs/benchmarks.md).
 * Every sealed envelope is over 1 KB. This client writes each frame in one write with Nagle off,
 * so the relay suite can measure the relay itself, next to what Deno's client gives.
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An open connection. */
export class NoDelayWebSocket {
  /** Called with each text message. */
  onmessage: (data: string) => void = () => {};
  /** The close code and reason the server sent, if it sent a close frame. */
  closeCode = 1006;
  closeReason = "";
  /** Resolves when the connection is closed (either side). */
  readonly closed: Promise<void>;
  private queue: Uint8Array[] = [];
  private writing = false;
  private isClosed = false;
  private resolveClosed!: () => void;

  private constructor(private readonly conn: Deno.TcpConn, initial: Uint8Array) {
    this.closed = new Promise((r) => this.resolveClosed = r);
    this.readLoop(initial).catch(() => {}).finally(() => this.shutdown());
  }

  /** Connects and completes the opening handshake. */
  static async connect(url: string): Promise<NoDelayWebSocket> {
    const u = new URL(url);
    if (u.protocol !== "ws:") throw new Error("NoDelayWebSocket speaks ws:// only");
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 80) });
    conn.setNoDelay(true);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    let buffered: Uint8Array = new Uint8Array(0);
    for (;;) {
      const chunk = new Uint8Array(16384);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("connection closed during the handshake");
      buffered = concat(buffered, chunk.subarray(0, n));
      const end = indexOfHeaderEnd(buffered);
      if (end < 0) continue;
      const head = decoder.decode(buffered.subarray(0, end));
      if (!/^HTTP\/1\.1 101 /.test(head)) {
        conn.close();
        throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
      }
      return new NoDelayWebSocket(conn, buffered.subarray(end + 4));
    }
  }

  /** Sends one text message (queued; consecutive sends go out in one write). */
  send(text: string) {
    if (this.isClosed) return;
    this.queue.push(frame(0x1, encoder.encode(text)));
    if (!this.writing) this.flush();
  }

  /** Sends a close frame and closes the socket. */
  close(code = 1000, reason = "") {
    if (this.isClosed) return;
    const text = encoder.encode(reason);
    const payload = new Uint8Array(2 + text.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(text, 2);
    this.closeCode = code;
    this.closeReason = reason;
    this.queue.push(frame(0x8, payload));
    if (!this.writing) this.flush();
    setTimeout(() => this.shutdown(), 50);
  }

  private async flush() {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.isClosed) {
        const parts = this.queue;
        this.queue = [];
        await writeAll(this.conn, parts.length === 1 ? parts[0]! : concat(...parts));
      }
    } catch {
      this.shutdown();
    } finally {
      this.writing = false;
    }
  }

  private async readLoop(initial: Uint8Array) {
    let buf = initial;
    let message: Uint8Array[] = [];
    const chunk = new Uint8Array(65536);
    for (;;) {
      // Parse every complete frame in the buffer.
      for (;;) {
        const f = parseFrame(buf);
        if (!f) break;
        buf = buf.subarray(f.size);
        if (f.opcode === 0x8) {
          if (f.payload.length >= 2) {
            this.closeCode = (f.payload[0]! << 8) | f.payload[1]!;
            this.closeReason = decoder.decode(f.payload.subarray(2));
          } else this.closeCode = 1005;
          return;
        }
        if (f.opcode === 0x9) {
          this.queue.push(frame(0xa, f.payload.slice()));
          if (!this.writing) this.flush();
          continue;
        }
        if (f.opcode === 0xa) continue;
        message.push(f.payload.slice());
        if (f.fin) {
          const data = message.length === 1 ? message[0]! : concat(...message);
          message = [];
          this.onmessage(decoder.decode(data));
        }
      }
      const n = await this.conn.read(chunk);
      if (n === null) return;
      buf = buf.length === 0 ? chunk.slice(0, n) : concat(buf, chunk.subarray(0, n));
    }
  }

  private shutdown() {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    this.resolveClosed();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
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

function indexOfHeaderEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** A masked client frame (header and payload in one buffer). */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + len);
  out[0] = 0x80 | opcode;
  if (ext === 0) out[1] = 0x80 | len;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  const maskAt = 2 + ext;
  crypto.getRandomValues(out.subarray(maskAt, maskAt + 4));
  const m0 = out[maskAt]!, m1 = out[maskAt + 1]!, m2 = out[maskAt + 2]!, m3 = out[maskAt + 3]!;
  const at = maskAt + 4;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    out[at + i] = payload[i]! ^ m0;
    out[at + i + 1] = payload[i + 1]! ^ m1;
    out[at + i + 2] = payload[i + 2]! ^ m2;
    out[at + i + 3] = payload[i + 3]! ^ m3;
  }
  for (; i < len; i++) out[at + i] = payload[i]! ^ out[maskAt + (i % 4)]!;
  return out;
}

/** One unmasked server frame at the start of `b`, or null when incomplete. */
function parseFrame(
  b: Uint8Array,
): { fin: boolean; opcode: number; payload: Uint8Array; size: number } | null {
  if (b.length < 2) return null;
  const fin = (b[0]! & 0x80) !== 0;
  const opcode = b[0]! & 0x0f;
  let len = b[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = (b[2]! << 8) | b[3]!;
    at = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
    at = 10;
  }
  if ((b[1]! & 0x80) !== 0) throw new Error("server frames must not be masked");
  if (b.length < at + len) return null;
  return { fin, opcode, payload: b.subarray(at, at + len), size: at + len };
}

type Listener = ((event: Event) => void) | null;

/**
 * A `WebSocket`-shaped facade over {@link NoDelayWebSocket}: the subset the daemon's relay link
 * uses (on* handlers, addEventListener, send, close, readyState). The daemon suite installs it
 * as `globalThis.WebSocket` for one case, to show what a TCP_NODELAY relay link would give.
 */
export class NoDelayWebSocketShim extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  onopen: Listener = null;
  onmessage: Listener = null;
  onclose: Listener = null;
  onerror: Listener = null;
  private inner: NoDelayWebSocket | null = null;
  private closeAsked = false;

  constructor(url: string | URL) {
    super();
    NoDelayWebSocket.connect(String(url)).then((ws) => {
      this.inner = ws;
      if (this.closeAsked) {
        ws.close();
      } else {
        this.readyState = 1;
        ws.onmessage = (data) => this.emit("message", new MessageEvent("message", { data }));
      }
      ws.closed.then(() => {
        this.readyState = 3;
        this.emit(
          "close",
          new CloseEvent("close", { code: ws.closeCode, reason: ws.closeReason }),
        );
      });
      if (!this.closeAsked) this.emit("open", new Event("open"));
    }, (err) => {
      this.readyState = 3;
      this.emit("error", new ErrorEvent("error", { message: String(err) }));
      this.emit("close", new CloseEvent("close", { code: 1006, reason: "" }));
    });
  }

  send(text: string) {
    if (this.readyState === 0) throw new DOMException("still connecting", "InvalidStateError");
    if (this.readyState === 1) this.inner!.send(text);
  }

  close(code = 1000, reason = "") {
    if (this.readyState >= 2) return;
    this.closeAsked = true;
    this.readyState = 2;
    this.inner?.close(code, reason);
  }

  private emit(type: "open" | "message" | "close" | "error", event: Event) {
    const handler = this[`on${type}`];
    handler?.call(this, event);
    this.dispatchEvent(event);
  }
}
