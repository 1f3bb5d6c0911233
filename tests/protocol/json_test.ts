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
