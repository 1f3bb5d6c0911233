/** Byte helpers shared by the crypto code and the WebSocket framing (one home, issue 14). */

/**
 * The concatenation of `parts` in a new array.
 *
 * @example
 * ```ts
 * concatBytes(Uint8Array.of(1), Uint8Array.of(2, 3)); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A standalone ArrayBuffer with exactly the bytes of `bytes` (WebCrypto wants one). */
export function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Throws `TypeError` unless `bytes` has length `n` (`what` names it in the message). */
export function requireLength(bytes: Uint8Array, n: number, what: string): void {
  if (bytes.length !== n) throw new TypeError(`${what} must be ${n} bytes, got ${bytes.length}`);
}

/** Bytes of a lowercase or uppercase hex string of even length. */
export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError("invalid hex");
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
