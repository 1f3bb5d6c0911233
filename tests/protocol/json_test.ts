/** The bounded JSON parser: size and depth checked before `JSON.parse`, strings skipped. */
import { assert, assertEquals } from "../assert.ts";
import {
  jsonDepth,
  MAX_JSON_DEPTH,
  parseJsonBounded,
  TaskferryError,
} from "../../lib/protocol/mod.ts";

const nested = (d: number) => "[".repeat(d) + "]".repeat(d);

function code(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    assert(err instanceof TaskferryError, String(err));
    return err.code;
  }
}

Deno.test("json: depth counts arrays and objects outside strings only", () => {
  assertEquals(jsonDepth("1"), 0);
  assertEquals(jsonDepth("[]"), 1);
  assertEquals(jsonDepth('{"a":[{"b":[]}],"c":{}}'), 4);
  assertEquals(jsonDepth('"[[[[{{{{"'), 0);
  // Escaped quotes and backslashes do not end the string early.
  assertEquals(jsonDepth('["\\"[[[", "\\\\", []]'), 2);
  assertEquals(jsonDepth(nested(100_000), 10), 11, "stops scanning past the bound");
});

Deno.test("json: parseJsonBounded refuses by size and depth before parsing", () => {
  assertEquals(parseJsonBounded('{"a":[1,"]]"]}', { maxBytes: 100 }), { a: [1, "]]"] });
  assertEquals(code(() => parseJsonBounded(nested(MAX_JSON_DEPTH), { maxBytes: 1e6 })), "ok");
  assertEquals(
    code(() => parseJsonBounded(nested(MAX_JSON_DEPTH + 1), { maxBytes: 1e6 })),
    "payload_too_deep",
  );
  assertEquals(
    code(() => parseJsonBounded("[[[]]]", { maxBytes: 9, maxDepth: 2 })),
    "payload_too_deep",
  );
  assertEquals(code(() => parseJsonBounded("[1]", { maxBytes: 2 })), "body_too_large");
  assertEquals(code(() => parseJsonBounded("[1,", { maxBytes: 9 })), "invalid_json");
  // Unbalanced text gets some depth, and JSON.parse refuses it.
  assertEquals(code(() => parseJsonBounded("]]]][", { maxBytes: 9 })), "invalid_json");
});

Deno.test("json: 10 MB of nesting is refused in milliseconds", () => {
  const t0 = performance.now();
  assertEquals(
    code(() => parseJsonBounded(nested(5_000_000), { maxBytes: 11e6 })),
    "payload_too_deep",
  );
  const ms = performance.now() - t0;
  assert(ms < 500, `${ms} ms`);
});

/** The character-by-character scan jsonDepth replaced (issue 21): the oracle for its rewrite. */
function depthByChars(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

Deno.test("json: depth skips strings by search exactly as a scan of every character does", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const alphabet = ['"', "\\", "[", "]", "{", "}", "a", ",", ":"];
  for (let n = 0; n < 20_000; n++) {
    let text = "";
    const length = Math.floor(next() * 24);
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
    assertEquals(jsonDepth(text), depthByChars(text), JSON.stringify(text));
  }
});
