/**
 * The one bounded JSON parser for peer and network input. `JSON.parse` has no size or depth
 * limit of its own, and deeply nested arrays cost about a hundred times more to parse than
 * flat JSON of the same length (a 60 MB `[[[…]]]` frame stalled a relay for 40 s). So the text
 * is measured and its nesting scanned — iteratively, one pass, no recursion — before
 * `JSON.parse` sees it.
 * @module
 */
import { fail } from "./errors.ts";

/**
 * The deepest nesting (arrays and objects together) any TaskFerry JSON text may have: frames,
 * HTTP bodies and decrypted payloads (docs/protocol.md §2). The envelope itself needs 4.
 */
export const MAX_JSON_DEPTH = 64;

/** Limits for {@link parseJsonBounded}. */
export interface JsonBounds {
  /** Longest accepted text, in UTF-16 code units (bytes for the ASCII the protocol uses). */
  maxBytes: number;
  /** Deepest accepted nesting; defaults to {@link MAX_JSON_DEPTH}. */
  maxDepth?: number;
}

/**
 * Parses `text` as JSON after checking its length and nesting depth.
 *
 * @param text the JSON text
 * @param bounds the size and depth limits
 * @returns the parsed value
 * @throws `body_too_large` past `maxBytes`, `payload_too_deep` past `maxDepth`,
 *   `invalid_json` when it is not JSON
 * @example
 * ```ts
 * parseJsonBounded('{"a":[1]}', { maxBytes: 1024 }); // { a: [1] }
 * parseJsonBounded("[[[]]]", { maxBytes: 1024, maxDepth: 2 }); // throws payload_too_deep
 * ```
 */
export function parseJsonBounded(text: string, bounds: JsonBounds): unknown {
  if (text.length > bounds.maxBytes) {
    throw fail("body_too_large", `the limit is ${bounds.maxBytes} bytes`);
  }
  const maxDepth = bounds.maxDepth ?? MAX_JSON_DEPTH;
  const depth = jsonDepth(text, maxDepth);
  if (depth > maxDepth) {
    throw fail("payload_too_deep", `JSON may nest at most ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw fail("invalid_json");
  }
}

/**
 * The nesting depth of `text`, counting `[` and `{` outside strings; stops early once past
 * `stopAbove`. Malformed text gets some number: `JSON.parse` refuses it afterwards.
 */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string ends at the first quote after it not escaped by an odd run of backslashes;
      // indexOf jumps there natively (most of an envelope is one long base64url string).
      let end = i;
      for (;;) {
        end = text.indexOf('"', end + 1);
        if (end === -1) return max; // unterminated: JSON.parse refuses it
        let k = end - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((end - 1 - k) % 2 === 0) break;
      }
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
