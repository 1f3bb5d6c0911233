/**
 * Ids are a type prefix, `_`, and a 26-character ULID (Crockford base32: 48-bit millisecond
 * time, 80 random bits). Ids made in the same millisecond by one process increase
 * monotonically, so ids sort in creation order.
 */

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The prefixes of the id kinds in the protocol. */
export const ID_PREFIXES = ["msg", "task", "conv", "inv", "dev", "evt", "blob"] as const;
export type IdPrefix = typeof ID_PREFIXES[number];

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

let lastTime = -1;
const lastRandom = new Uint8Array(10);

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 characters, most significant first.
  let out = "";
  let acc = 0n;
  for (const b of bytes) acc = (acc << 8n) | BigInt(b);
  for (let i = 0; i < 16; i++) {
    out = CROCKFORD[Number(acc & 31n)] + out;
    acc >>= 5n;
  }
  return out;
}

function incrementRandom(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] !== 255) {
      bytes[i] = bytes[i]! + 1;
      return true;
    }
    bytes[i] = 0;
  }
  return false;
}

/** A new ULID; monotonic within a millisecond in this process. */
export function ulid(now: number = Date.now()): string {
  // Only whole milliseconds in 0..2^48-1 fit the 10-character time part; anything else (NaN, a
  // fractional `performance.now()`-style value) would encode as garbage characters.
  if (!(now >= 0 && now < 2 ** 48)) throw new RangeError(`ulid: time out of range: ${now}`);
  now = Math.floor(now);
  if (now <= lastTime) {
    if (!incrementRandom(lastRandom)) {
      // 2^80 ids in one millisecond: move to the next millisecond rather than wrap.
      lastTime += 1;
      crypto.getRandomValues(lastRandom);
    }
  } else {
    lastTime = now;
    crypto.getRandomValues(lastRandom);
    lastRandom[0] = lastRandom[0]! & 0x7f; // room to increment without overflow
  }
  return encodeTime(lastTime) + encodeRandom(lastRandom);
}

/** A new id with the given prefix, e.g. `newId("msg")` → `msg_01JDQ7…`. */
export function newId(prefix: IdPrefix, now?: number): string {
  return `${prefix}_${ulid(now)}`;
}

/** True when `id` is `<prefix>_<ULID>`. */
export function isId(id: unknown, prefix: IdPrefix): id is string {
  return typeof id === "string" && id.startsWith(prefix + "_") &&
    ULID_RE.test(id.slice(prefix.length + 1));
}

/** The millisecond timestamp inside an id's ULID. */
export function idTime(id: string): number {
  const body = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11);
  let ms = 0;
  for (const ch of body) ms = ms * 32 + CROCKFORD.indexOf(ch);
  return ms;
}

/** Regex source for an id with `prefix`, for schemas. */
export function idPattern(prefix: IdPrefix): RegExp {
  return new RegExp(`^${prefix}_[0-7][0-9A-HJKMNP-TV-Z]{25}$`);
}
