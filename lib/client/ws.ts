/**
 * The daemon's WebSocket client (RFC 6455): text frames over a TCP socket with Nagle's
 * algorithm off, TLS for `wss://` (started on that socket), one write per frame.
 *
 * Why not the built-in `WebSocket`: Deno's client writes a frame larger than 1,024 bytes as two
 * writes (header, then payload) on a socket with Nagle on; the payload then waits for the
 * receiver's delayed ACK of the header, ~40 ms on Linux. Every sealed envelope is over 1 KB, so
 * every send stalled ~44 ms (docs/benchmarks.md). The surface here is the part of `WebSocket`
 * the relay link uses.
 * @module
 */
import { concatBytes } from "../protocol/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest message accepted from the server (a relay's envelope limit is far below). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const HANDSHAKE_TIMEOUT_MS = 15_000;

type Listener = ((event: Event) => void) | null;

/** Options for {@link NoDelayWebSocket}. */
export interface NoDelayOptions {
  /** Extra trusted CA certificates (PEM) for `wss://` (tests; production uses the system's). */
  caCerts?: string[];
}

/** A `WebSocket`-shaped client with TCP_NODELAY. */
export class NoDelayWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  onopen: Listener = null;
  onmessage: Listener = null;
  onclose: Listener = null;
  onerror: Listener = null;
  private conn: Deno.Conn | null = null;
  private queue: Uint8Array[] = [];
  private writing = false;
  private closeCode = 1006;
  private closeReason = "";
  private finished = false;

  constructor(url: string | URL, private readonly options: NoDelayOptions = {}) {
    super();
    this.open(new URL(url)).catch((err) => {
      this.emit(
        "error",
        new ErrorEvent("error", { message: String((err as Error).message ?? err) }),
      );
      this.finish();
    });
  }

  /** Sends one text message. */
  send(text: string) {
    if (this.readyState === 0) throw new DOMException("still connecting", "InvalidStateError");
    if (this.readyState !== 1) return;
    this.enqueue(frame(0x1, encoder.encode(text)));
  }

  /** Starts the closing handshake (and closes the socket shortly after). */
  close(code = 1000, reason = "") {
    if (this.readyState >= 2) return;
    const wasOpen = this.readyState === 1;
    this.readyState = 2;
    this.closeCode = code;
    this.closeReason = reason;
    if (!wasOpen || !this.conn) {
      this.finish();
      return;
    }
    const text = encoder.encode(reason).subarray(0, 123);
    const payload = new Uint8Array(2 + text.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(text, 2);
    this.enqueue(frame(0x8, payload));
    setTimeout(() => this.finish(), 200);
  }

  private async open(url: URL) {
    const secure = url.protocol === "wss:" || url.protocol === "https:";
    if (!secure && url.protocol !== "ws:" && url.protocol !== "http:") {
      throw new Error(`unsupported URL scheme ${url.protocol}`);
    }
    const port = Number(url.port || (secure ? 443 : 80));
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const tcp = await Deno.connect({ hostname, port });
    tcp.setNoDelay(true);
    let conn: Deno.Conn = tcp;
    if (secure) {
      const tlsOptions: Deno.StartTlsOptions = { hostname };
      if (this.options.caCerts) tlsOptions.caCerts = this.options.caCerts;
      conn = await Deno.startTls(tcp, tlsOptions);
    }
    this.conn = conn;
    if (this.readyState >= 2) {
      this.finish();
      return;
    }
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const timer = setTimeout(() => this.finish(), HANDSHAKE_TIMEOUT_MS);
    let buffered: Uint8Array = new Uint8Array(0);
    let end = -1;
    try {
      while (end < 0) {
        const chunk = new Uint8Array(16384);
        const n = await conn.read(chunk);
        if (n === null) throw new Error("connection closed during the WebSocket handshake");
        buffered = concatBytes(buffered, chunk.subarray(0, n));
        if (buffered.length > 65536) throw new Error("WebSocket handshake response too large");
        end = indexOfHeaderEnd(buffered);
      }
    } finally {
      clearTimeout(timer);
    }
    const head = new TextDecoder().decode(buffered.subarray(0, end));
    if (!/^HTTP\/1\.1 101 /.test(head)) {
      throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
    }
    const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID)));
    if (accept !== btoa(String.fromCharCode(...digest))) {
      throw new Error("bad Sec-WebSocket-Accept in the upgrade response");
    }
    if (this.readyState >= 2) {
      this.finish();
      return;
    }
    this.readyState = 1;
    this.emit("open", new Event("open"));
    this.readLoop(conn, buffered.subarray(end + 4)).catch(() => {}).finally(() => this.finish());
  }

  private enqueue(bytes: Uint8Array) {
    this.queue.push(bytes);
    if (this.writing) return;
    // From a microtask: the frames sent in one turn (a group commit's rows) go in one write.
    this.writing = true;
    queueMicrotask(() => void this.flush());
  }

  private async flush() {
    this.writing = true;
    try {
      while (this.queue.length > 0 && this.conn && !this.finished) {
        const parts = this.queue;
        this.queue = [];
        await writeAll(this.conn, parts.length === 1 ? parts[0]! : concatBytes(...parts));
      }
    } catch {
      this.finish();
    } finally {
      this.writing = false;
    }
  }

  private async readLoop(conn: Deno.Conn, initial: Uint8Array) {
    let buf = initial;
    let message: Uint8Array[] = [];
    let messageBytes = 0;
    const chunk = new Uint8Array(65536);
    for (;;) {
      for (;;) {
        const f = parseFrame(buf);
        if (!f) break;
        buf = buf.subarray(f.size);
        if (f.opcode === 0x8) {
          this.closeCode = f.payload.length >= 2 ? (f.payload[0]! << 8) | f.payload[1]! : 1005;
          this.closeReason = f.payload.length > 2
            ? new TextDecoder().decode(f.payload.subarray(2))
            : "";
          if (this.readyState === 1) {
            this.readyState = 2;
            this.enqueue(frame(0x8, f.payload.slice(0, 2)));
          }
          return;
        }
        if (f.opcode === 0x9) {
          this.enqueue(frame(0xa, f.payload.slice()));
          continue;
        }
        if (f.opcode === 0xa) continue;
        messageBytes += f.payload.length;
        if (messageBytes > MAX_MESSAGE_BYTES) throw new Error("message too large");
        message.push(f.payload.slice());
        if (f.fin) {
          const data = message.length === 1 ? message[0]! : concatBytes(...message);
          message = [];
          messageBytes = 0;
          this.emit("message", new MessageEvent("message", { data: decoder.decode(data) }));
        }
      }
      if (buf.length > MAX_MESSAGE_BYTES + 16) throw new Error("frame too large");
      const n = await conn.read(chunk);
      if (n === null) return;
      buf = buf.length === 0 ? chunk.slice(0, n) : concatBytes(buf, chunk.subarray(0, n));
    }
  }

  private finish() {
    if (this.finished) return;
    this.finished = true;
    this.readyState = 3;
    try {
      this.conn?.close();
    } catch {
      // already closed
    }
    this.emit("close", new CloseEvent("close", { code: this.closeCode, reason: this.closeReason }));
  }

  private emit(type: "open" | "message" | "close" | "error", event: Event) {
    const handler = this[`on${type}`];
    try {
      handler?.call(this, event);
    } finally {
      this.dispatchEvent(event);
    }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function indexOfHeaderEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** A masked client frame: header and payload in one buffer, so one write. */
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
  const at = maskAt + 4;
  for (let i = 0; i < len; i++) out[at + i] = payload[i]! ^ out[maskAt + (i & 3)]!;
  return out;
}

/** One server frame at the start of `b`, or null when incomplete. */
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
    const big = new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0);
    if (big > BigInt(MAX_MESSAGE_BYTES)) throw new Error("frame too large");
    len = Number(big);
    at = 10;
  }
  if ((b[1]! & 0x80) !== 0) throw new Error("server frames must not be masked");
  if (b.length < at + len) return null;
  return { fin, opcode, payload: b.subarray(at, at + len), size: at + len };
}
