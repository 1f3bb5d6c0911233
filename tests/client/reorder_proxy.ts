/**
 * A relay in front of one daemon that delivers two claims out of order: a TCP proxy that passes
 * everything through, except that on a WebSocket it reads the relay's frames (unmasked, so they
 * can be parsed) and holds the first `deliver` of a `task_claim` until a second, different claim
 * arrives, then forwards the second before the first. Copies of a held claim (the relay's
 * retries) are dropped while it is held. What a slow or malicious relay can do to the order of
 * claims, and no more: it cannot forge or alter them.
 * @module
 */

/** A running proxy. */
export interface ReorderProxy {
  url: string;
  /** How many claim pairs were swapped. */
  swapped(): number;
  close(): Promise<void>;
}

const decoder = new TextDecoder();
const UPGRADED = "HTTP/1.1 101";

/** One complete server frame at the start of `buf`: its total length and text, or null. */
function nextFrame(buf: Uint8Array): { length: number; text: string | null } | null {
  if (buf.length < 2) return null;
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = (buf[2]! << 8) | buf[3]!;
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
    at = 10;
  }
  if (buf.length < at + len) return null;
  const text = opcode === 1 ? decoder.decode(buf.subarray(at, at + len)) : null;
  return { length: at + len, text };
}

/** The envelope id of a `deliver` frame carrying a `task_claim`, else null. */
function claimId(text: string | null): string | null {
  if (!text?.startsWith('{"type":"deliver"')) return null;
  const frame = JSON.parse(text) as { envelope?: { id?: string; type?: string } };
  return frame.envelope?.type === "task_claim" ? frame.envelope.id ?? null : null;
}

/** Starts a proxy to `target` (the relay's http URL) on a free loopback port. */
export function startReorderProxy(target: string): ReorderProxy {
  const to = new URL(target);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let swaps = 0;
  let held: { id: string; bytes: Uint8Array } | null = null;

  async function pump(client: Deno.Conn) {
    const server = await Deno.connect({ hostname: to.hostname, port: Number(to.port) });
    conns.add(client).add(server);
    const up = client.readable.pipeTo(server.writable).catch(() => {});
    const writer = client.writable.getWriter();
    let buf = new Uint8Array(0);
    let framing = false;
    try {
      for await (const chunk of server.readable) {
        const merged = new Uint8Array(buf.length + chunk.length);
        merged.set(buf);
        merged.set(chunk, buf.length);
        buf = merged;
        if (!framing) {
          // Plain HTTP passes through; only a 101 answer switches to reading frames.
          const start = decoder.decode(buf.subarray(0, 12));
          if (!UPGRADED.startsWith(start) && !start.startsWith(UPGRADED)) {
            await writer.write(buf);
            buf = new Uint8Array(0);
            continue;
          }
          const end = decoder.decode(buf).indexOf("\r\n\r\n");
          if (end < 0) continue; // the rest of the 101 head is on its way
          await writer.write(buf.subarray(0, end + 4));
          buf = buf.subarray(end + 4);
          framing = true;
        }
        for (let f = nextFrame(buf); f; f = nextFrame(buf)) {
          const bytes = buf.slice(0, f.length);
          buf = buf.subarray(f.length);
          const id = claimId(f.text);
          if (id && !held) held = { id, bytes };
          else if (id && held && id === held.id) continue; // a retry of the held claim
          else if (id && held) {
            await writer.write(bytes); // the later claim first…
            await writer.write(held.bytes); // …then the earlier one
            held = null;
            swaps++;
          } else await writer.write(bytes);
        }
      }
    } catch {
      // a side closed
    } finally {
      await writer.close().catch(() => {});
      await up;
      for (const c of [client, server]) {
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      }
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) pump(conn);
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    swapped: () => swaps,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
}
