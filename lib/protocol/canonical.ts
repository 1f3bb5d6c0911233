import canonicalizeJcs from "canonicalize";

const encoder = new TextEncoder();

/** The RFC 8785 (JCS) canonical JSON text of `value`. */
export function canonicalJson(value: unknown): string {
  const text = canonicalizeJcs(value);
  if (text === undefined) throw new TypeError("value has no JSON form");
  return text;
}

/** UTF-8 bytes of the canonical JSON of `value`: the input to signatures and AAD. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}
