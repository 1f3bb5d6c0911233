/**
 * The protocol's `verify` and the relay's first signature check (lib/relay/ed25519.ts), both on
 * node:crypto (lib/protocol/primitives.ts), answer exactly as WebCrypto's Ed25519 — with keys of
 * small order refused, the protocol's own rule, decided here by noble — on valid signatures and
 * on the edge cases where Ed25519 implementations are known to differ: non-canonical S (S + L)
 * and R (y ≥ p), small-order keys with the forgeries they allow, mixed-order keys, flipped bits
 * and wrong lengths.
 */
import { assert, assertEquals } from "../assert.ts";
import { encodeBase64Url, generateAgentKeys, sign, verify } from "../../lib/protocol/mod.ts";
import { Ed25519Checker } from "../../lib/relay/ed25519.ts";
import { ed25519, ED25519_TORSION_SUBGROUP } from "../deps/noble.ts";

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const hex = (h: string) => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
const utf8 = (s: string) => new TextEncoder().encode(s);

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
function fromLe(b: Uint8Array): bigint {
  return b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

interface Case {
  name: string;
  key: Uint8Array;
  sig: Uint8Array;
  text: string;
}

async function cases(): Promise<Case[]> {
  const keys = await generateAgentKeys();
  const key = keys.signing.publicKey;
  const text = '{"v":1,"text":"relay check é ✓"}';
  const sig = await sign(keys.signing.privateKey, utf8(text));
  const out: Case[] = [{ name: "valid", key, sig, text }];
  out.push({ name: "other text", key, sig, text: text + " " });
  for (const i of [0, 31, 32, 63]) {
    const bad = sig.slice();
    bad[i]! ^= 1;
    out.push({ name: `sig bit flipped in byte ${i}`, key, sig: bad, text });
  }
  const badKey = key.slice();
  badKey[5]! ^= 0x10;
  out.push({ name: "key bit flipped", key: badKey, sig, text });
  // S + L: the same scalar mod L, not canonical (RFC 8032 refuses S ≥ L).
  const s = fromLe(sig.subarray(32));
  const plusL = sig.slice();
  plusL.set(le(s + L), 32);
  out.push({ name: "S + L", key, sig: plusL, text });
  const maxS = sig.slice();
  maxS.set(le(2n ** 256n - 1n), 32);
  out.push({ name: "S = 2^256 - 1", key, sig: maxS, text });
  // R with y ≥ p (non-canonical encodings of small-order points), S = 0.
  for (
    const r of [
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]
  ) {
    const forged = new Uint8Array(64);
    forged.set(hex(r));
    out.push({ name: `non-canonical R ${r.slice(0, 4)}`, key, sig: forged, text });
  }
  // Small-order keys with small-order R and S = 0: forgeries for some pairs (see tamper_test).
  for (
    const a of [
      ...ED25519_TORSION_SUBGROUP,
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]
  ) {
    for (const r of ED25519_TORSION_SUBGROUP) {
      const forged = new Uint8Array(64);
      forged.set(hex(r));
      out.push({
        name: `small-order key ${a.slice(0, 6)} R ${r.slice(0, 6)}`,
        key: hex(a),
        sig: forged,
        text,
      });
    }
  }
  // A mixed-order key A' = aB + T (T of order 8) with signatures S = r + k·a: they satisfy the
  // cofactored equation always and the cofactorless one only when 8 divides k.
  const seed = new Uint8Array(32).fill(7);
  const { scalar } = ed25519.utils.getExtendedPublicKey(seed);
  const Point = ed25519.Point;
  const torsion = Point.fromHex(ED25519_TORSION_SUBGROUP[1]!);
  const mixed = Point.BASE.multiply(scalar).add(torsion).toBytes();
  const kinds = new Set<boolean>();
  for (let i = 0; i < 64 && kinds.size < 2; i++) {
    const r = BigInt(1 + i) * 7919n + 12345n;
    const R = Point.BASE.multiply(r).toBytes();
    const msg = utf8(text + i);
    const kHash = new Uint8Array(
      await crypto.subtle.digest("SHA-512", new Uint8Array([...R, ...mixed, ...msg])),
    );
    const k = fromLe(kHash) % L;
    const S = (r + k * scalar) % L;
    kinds.add(k % 8n === 0n);
    const forged = new Uint8Array(64);
    forged.set(R);
    forged.set(le(S), 32);
    out.push({
      name: `mixed-order key, k mod 8 = ${k % 8n}`,
      key: mixed,
      sig: forged,
      text: text + i,
    });
  }
  assertEquals(kinds.size, 2, "both kinds of mixed-order signature are among the cases");
  out.push({ name: "short key", key: key.subarray(0, 31), sig, text });
  out.push({ name: "short sig", key, sig: sig.subarray(0, 63), text });
  return out;
}

/** True for a key noble decodes (non-strictly) to a point of small order. */
function smallOrder(key: Uint8Array): boolean {
  try {
    return ed25519.Point.fromHex(encodeHex(key), true).isSmallOrder();
  } catch {
    return false;
  }
}
const encodeHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** WebCrypto's answer, with small-order keys refused: what the protocol has always answered. */
async function reference(c: Case): Promise<boolean> {
  if (c.key.length !== 32 || c.sig.length !== 64 || smallOrder(c.key)) return false;
  try {
    const key = await crypto.subtle.importKey("raw", c.key.slice(), "Ed25519", false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, c.sig.slice(), utf8(c.text));
  } catch {
    return false;
  }
}

Deno.test("ed25519: protocol and relay checks answer as WebCrypto on every edge case", async () => {
  const checker = new Ed25519Checker();
  const all = await cases();
  let accepted = 0;
  let refusedSmall = 0;
  for (const c of all) {
    const expected = await reference(c);
    if (smallOrder(c.key)) refusedSmall++;
    const protocol = await verify(c.key, utf8(c.text), c.sig);
    assertEquals(protocol, expected, c.name);
    const relay = checker.check(encodeBase64Url(c.key), encodeBase64Url(c.sig), c.text);
    assertEquals(relay, protocol, c.name);
    if (relay) accepted++;
    // Asked again (the key now cached), the same answer.
    assertEquals(
      checker.check(encodeBase64Url(c.key), encodeBase64Url(c.sig), c.text),
      protocol,
      c.name,
    );
  }
  assert(accepted >= 1, "the valid signature verifies");
  assert(refusedSmall >= 8, "the small-order keys are among the cases");
});

Deno.test("relay ed25519: malformed base64url is a plain false", () => {
  const checker = new Ed25519Checker();
  assertEquals(checker.check("not base64url!", "AAAA", "x"), false);
  assertEquals(checker.check(encodeBase64Url(new Uint8Array(32).fill(9)), "***", "x"), false);
});
