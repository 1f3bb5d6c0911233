/**
 * A TCP proxy on loopback between a daemon and the relay, under the test's control:
 * - `cut(direction)`: the next WebSocket frame in that direction is forwarded only up to the
 *   middle of its payload, then both sockets of that connection are closed (a frame cut off
 *   mid-way, as when a network path dies);
 * - `stall()`: the connections open now stop forwarding in both directions but stay open (a
 *   silent black hole, as behind a dead NAT entry); new connections are forwarded normally;
 * - `resume()`: stalled connections forward again.
 * The proxy follows the WebSocket framing (after the HTTP upgrade) so it knows where frames
 * start and end.
 * @module
 */

/** Which way data flows: daemon → relay ("up") or relay → daemon ("down"). */
export type Direction = "up" | "down";

/** Counts of what the proxy did. */
export interface ProxyStats {
  connections: number;
  cuts: number;
  stalled: number;
  bytesUp: number;
  bytesDown: number;
}

interface Pair {
  client: Deno.TcpConn;
  server: Deno.TcpConn;
  stalled: boolean;
  closed: boolean;
  resume: (() => void)[];
  cut: Record<Direction, boolean>;
}

/** Parses WebSocket frame boundaries in one direction of one connection. */
class FrameTracker {
  /** Bytes of HTTP head still expected (until \r\n\r\n), or done. */
  private inHead = true;
  private headTail = "";
  private header: number[] = [];
  /** Payload bytes left in the current frame. */
  private left = 0;

  /**
   * Feeds `chunk`; returns an offset strictly inside a frame payload (at least one payload
   * byte before it and one after it) when `wantCut`, else -1. Tracks state either way.
   */
  feed(chunk: Uint8Array, wantCut: boolean): number {
    let i = 0;
    while (i < chunk.length) {
      if (this.inHead) {
        // The HTTP upgrade head (either direction) ends with \r\n\r\n.
        const text = this.headTail + String.fromCharCode(...chunk.subarray(i, i + 1));
        this.headTail = text.slice(-4);
        i++;
        if (this.headTail === "\r\n\r\n") this.inHead = false;
        continue;
      }
      if (this.left > 0) {
        const take = Math.min(this.left, chunk.length - i);
        // Forward half of what is left of the payload (at least one byte, never all of it).
        if (wantCut && this.left >= 2) return i + Math.min(take, Math.max(1, this.left >> 1));
        this.left -= take;
        i += take;
        continue;
      }
      this.header.push(chunk[i]!);
      i++;
      const h = this.header;
      if (h.length < 2) continue;
      const masked = (h[1]! & 0x80) !== 0;
      const len7 = h[1]! & 0x7f;
      const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const need = 2 + extra + (masked ? 4 : 0);
      if (h.length < need) continue;
      let len = len7;
      if (extra > 0) {
        len = 0;
        for (let k = 2; k < 2 + extra; k++) len = len * 256 + h[k]!;
      }
      this.header = [];
      this.left = len;
    }
    return -1;
  }
}

/** A controllable proxy in front of `targetPort`. */
export class FaultProxy {
  readonly port: number;
  readonly stats: ProxyStats = { connections: 0, cuts: 0, stalled: 0, bytesUp: 0, bytesDown: 0 };
  private readonly listener: Deno.TcpListener;
  private readonly pairs = new Set<Pair>();
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly cutWaiters: (() => void)[] = [];
  private closing = false;

  constructor(private readonly targetPort: number, port = 0) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port });
    this.port = (this.listener.addr as Deno.NetAddr).port;
    this.track(this.acceptLoop());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections currently open. */
  get open(): number {
    return [...this.pairs].filter((p) => !p.closed).length;
  }

  /**
   * Arms a cut: the next frame passing in `direction` on any open connection is truncated in
   * its payload and the connection is closed. Resolves when the cut happened.
   */
  cut(direction: Direction): Promise<void> {
    for (const p of this.pairs) if (!p.closed && !p.stalled) p.cut[direction] = true;
    this.armed[direction] = true;
    return new Promise((r) => this.cutWaiters.push(r));
  }

  private readonly armed: Record<Direction, boolean> = { up: false, down: false };

  /** Stops forwarding on every open connection (sockets stay open). */
  stall() {
    for (const p of this.pairs) {
      if (p.closed || p.stalled) continue;
      p.stalled = true;
      this.stats.stalled++;
    }
  }

  /** Forwards again on stalled connections. */
  resume() {
    for (const p of this.pairs) {
      p.stalled = false;
      for (const r of p.resume.splice(0)) r();
    }
  }

  /** Closes the listener and every connection. */
  async close() {
    this.closing = true;
    try {
      this.listener.close();
    } catch {
      // closed
    }
    for (const p of this.pairs) this.closePair(p);
    this.resume();
    await Promise.allSettled([...this.tasks]);
  }

  private track(p: Promise<unknown>) {
    const t = p.catch(() => {}).finally(() => this.tasks.delete(t));
    this.tasks.add(t);
  }

  private async acceptLoop() {
    for await (const client of this.listener) {
      if (this.closing) {
        client.close();
        break;
      }
      this.track(this.handle(client));
    }
  }

  private async handle(client: Deno.TcpConn) {
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: this.targetPort });
    } catch {
      client.close();
      return;
    }
    client.setNoDelay(true);
    server.setNoDelay(true);
    this.stats.connections++;
    const pair: Pair = {
      client,
      server,
      stalled: false,
      closed: false,
      resume: [],
      cut: { ...this.armed },
    };
    this.pairs.add(pair);
    await Promise.allSettled([
      this.pump(pair, "up", client, server),
      this.pump(pair, "down", server, client),
    ]);
    this.closePair(pair);
    this.pairs.delete(pair);
  }

  private async pump(pair: Pair, dir: Direction, from: Deno.TcpConn, to: Deno.TcpConn) {
    const tracker = new FrameTracker();
    const buf = new Uint8Array(65_536);
    try {
      for (;;) {
        while (pair.stalled && !pair.closed) await new Promise<void>((r) => pair.resume.push(r));
        if (pair.closed) return;
        const n = await from.read(buf);
        if (n === null) return;
        // Data read while a stall began is held, not forwarded, until resumed.
        while (pair.stalled && !pair.closed) await new Promise<void>((r) => pair.resume.push(r));
        if (pair.closed) return;
        const chunk = buf.subarray(0, n);
        const at = tracker.feed(chunk, pair.cut[dir]);
        if (at >= 0) {
          await writeAll(to, chunk.subarray(0, at));
          this.stats.cuts++;
          this.armed[dir] = false;
          for (const p of this.pairs) p.cut[dir] = false;
          this.closePair(pair);
          for (const w of this.cutWaiters.splice(0)) w();
          return;
        }
        await writeAll(to, chunk);
        if (dir === "up") this.stats.bytesUp += n;
        else this.stats.bytesDown += n;
      }
    } catch {
      // a socket closed: end the pair
    } finally {
      this.closePair(pair);
    }
  }

  private closePair(pair: Pair) {
    if (pair.closed) return;
    pair.closed = true;
    for (const c of [pair.client, pair.server]) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    for (const r of pair.resume.splice(0)) r();
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array) {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}
