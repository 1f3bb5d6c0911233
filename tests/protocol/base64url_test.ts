import { assertEquals, assertThrows } from "../assert.ts";
import * as native from "../../lib/protocol/base64url.ts";

type Codec = typeof native;

/**
 * The module picks the built-in Uint8Array base64 codec when the runtime has it, else a portable
 * path; a second copy is loaded with the built-ins hidden so both paths are tested.
 */
async function loadPortable(): Promise<Codec> {
  const proto = Uint8Array.prototype as { toBase64?: unknown };
  const ctor = Uint8Array as { fromBase64?: unknown };
  const saved = { toBase64: proto.toBase64, fromBase64: ctor.fromBase64 };
  delete proto.toBase64;
  delete ctor.fromBase64;
  try {
    const url = new URL("../../lib/protocol/base64url.ts?portable", import.meta.url).href;
    return await import(url) as Codec;
  } finally {
    proto.toBase64 = saved.toBase64;
    ctor.fromBase64 = saved.fromBase64;
  }
}

const CODECS: [string, () => Promise<Codec>][] = [
  ["native", () => Promise.resolve(native)],
  ["portable", loadPortable],
];

/** A reference encoder independent of the code under test (btoa with a character map). */
function reference(bytes: Uint8Array): string {
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""))
    .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** Registers `fn` once per codec. */
function test(name: string, fn: (codec: Codec) => void) {
  for (const [label, load] of CODECS) {
    Deno.test(`${name} (${label})`, async () => fn(await load()));
  }
}

test("round trip of every length 0..64, random and edge bytes", (codec) => {
  const { encodeBase64Url, decodeBase64Url, base64UrlLength } = codec;
  for (let n = 0; n <= 64; n++) {
    for (const bytes of [crypto.getRandomValues(new Uint8Array(n)), new Uint8Array(n).fill(255)]) {
      const text = encodeBase64Url(bytes);
      assertEquals(text, reference(bytes));
      assertEquals(text.length, base64UrlLength(n));
      assertEquals(/^[A-Za-z0-9_-]*$/.test(text), true, text);
      assertEquals(decodeBase64Url(text), bytes);
    }
  }
});

test("known vectors (RFC 4648 §10, URL alphabet)", ({ encodeBase64Url, decodeBase64Url }) => {
  const enc = new TextEncoder();
  const vectors: [string, string][] = [
    ["", ""],
    ["f", "Zg"],
    ["fo", "Zm8"],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg"],
    ["fooba", "Zm9vYmE"],
    ["foobar", "Zm9vYmFy"],
  ];
  for (const [plain, text] of vectors) {
    assertEquals(encodeBase64Url(enc.encode(plain)), text);
    assertEquals(decodeBase64Url(text), enc.encode(plain));
  }
  // The two characters that differ from standard base64.
  assertEquals(encodeBase64Url(Uint8Array.from([0xfb, 0xff])), "-_8");
  assertEquals(decodeBase64Url("-_8"), Uint8Array.from([0xfb, 0xff]));
});

test("large inputs encode in chunks and round-trip", ({ encodeBase64Url, decodeBase64Url }) => {
  // Larger than one 0x8000-byte chunk several times over, and not a multiple of 3.
  const bytes = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);
  const text = encodeBase64Url(bytes);
  assertEquals(text, reference(bytes));
  assertEquals(decodeBase64Url(text), bytes);
});

test("decode refuses padding, the standard alphabet and bad characters", ({ decodeBase64Url }) => {
  for (
    const bad of [
      "Zg==",
      "Zg=",
      "Zm8=",
      "Zm9v====",
      "+_8",
      "-/8",
      "Zm9v Yg",
      "Zm9v\nYg",
      "Zm9v.Yg",
      "Zm9vYmFy\u00e9",
      "=",
    ]
  ) {
    assertThrows(() => decodeBase64Url(bad), TypeError);
  }
});

test("decode refuses impossible lengths", ({ decodeBase64Url }) => {
  for (const bad of ["A", "AAAAA", "AAAAAAAAA"]) {
    assertThrows(() => decodeBase64Url(bad), TypeError);
  }
});

test("decode refuses non-canonical trailing bits", ({ encodeBase64Url, decodeBase64Url }) => {
  // 1 byte → 2 chars: the last char carries 4 unused bits that must be zero.
  assertEquals(decodeBase64Url("AA"), Uint8Array.from([0]));
  for (const bad of ["AB", "AP", "Zh", "Zv"]) assertThrows(() => decodeBase64Url(bad), TypeError);
  // 2 bytes → 3 chars: 2 unused bits.
  assertEquals(decodeBase64Url("Zm8"), Uint8Array.from([0x66, 0x6f]));
  for (const bad of ["Zm9", "Zm-", "Zm_"]) assertThrows(() => decodeBase64Url(bad), TypeError);
  // Every accepted text re-encodes to itself: exhaustive over 2- and 3-char inputs.
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  let accepted = 0;
  for (const a of alphabet) {
    for (const b of alphabet) {
      for (const text of [a + b, a + b + "A", a + b + "B"]) {
        let bytes: Uint8Array | null = null;
        try {
          bytes = decodeBase64Url(text);
        } catch {
          continue;
        }
        accepted++;
        assertEquals(encodeBase64Url(bytes), text);
      }
    }
  }
  // 64*4 two-char texts have zero low bits; each "…A" three-char text is canonical, "…B" never.
  assertEquals(accepted, 64 * 4 + 64 * 64);
});

test("base64UrlLength matches the encoding", ({ base64UrlLength }) => {
  assertEquals([0, 1, 2, 3, 12, 32, 48, 64].map(base64UrlLength), [0, 2, 3, 4, 16, 43, 64, 86]);
});
