/**
 * The relay's frame parser (lib/relay/intake.ts) reads `ack` frames by pattern and `send`
 * wrappers by shape, and leaves everything else to ClientFrameSchema: on a corpus of ack and
 * send spellings it accepts exactly what the bounded parser plus the schema accept, with the
 * same result, and refuses the rest with the same code.
 */
import { assertEquals } from "../assert.ts";
import {
  ClientFrameSchema,
  describeIssues,
  fail,
  parseJsonBounded,
  TaskferryError,
} from "../../lib/protocol/mod.ts";
import { FRAME_MAX_DEPTH, parseFrame } from "../../lib/relay/intake.ts";

/** What the parser did before the fast paths: bounded parse, then the schema. */
function reference(data: string) {
  const value = parseJsonBounded(data, { maxBytes: Infinity, maxDepth: FRAME_MAX_DEPTH });
  const parsed = ClientFrameSchema.safeParse(value);
  if (!parsed.success) throw fail("bad_request", describeIssues(parsed.error));
  return parsed.data;
}

function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (err) {
    return { code: err instanceof TaskferryError ? err.code : String(err) };
  }
}

const SEQS = [
  "1",
  "7",
  "42",
  "0",
  "-1",
  "01",
  "1.5",
  "1.0",
  "1e3",
  "999999999999999",
  "9007199254740991",
  "9007199254740993",
  "99999999999999999999",
  '"1"',
  "null",
  "true",
  "[1]",
];

Deno.test("frames: ack and send frames parse as the schema says", () => {
  const frames: string[] = [];
  for (const seq of SEQS) {
    frames.push(
      `{"type":"ack","seq":${seq}}`,
      `{"seq":${seq},"type":"ack"}`,
      `{ "type": "ack", "seq": ${seq} }`,
      `{"type":"ack","seq":${seq},"x":1}`,
      `{"type":"ack","seq":${seq}}\n`,
      `{"type":"ack","seq":${seq}`,
    );
  }
  frames.push(
    '{"type":"ack"}',
    '{"type":"send","envelope":{"v":1}}',
    '{"type":"send","envelope":null}',
    '{"type":"send"}',
    '{"type":"send","envelope":1,"x":2}',
    '{"envelope":[],"type":"send"}',
    '{"type":"send","envelope":{},"__proto__":{}}',
    '{"__proto__":{"type":"send"},"envelope":{}}',
    '{"type":"ping"}',
    '{"type":"pong"}',
    "[]",
    "null",
  );
  for (const data of frames) {
    assertEquals(outcome(() => parseFrame(data)), outcome(() => reference(data)), data);
  }
});
