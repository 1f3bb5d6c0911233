/**
 * The relay suite's load generator reads hot frames by position (bench/relay_frames.ts); it must
 * read the same fields JSON.parse does, and fall back to parsing anything else.
 */
import { assertEquals } from "../assert.ts";
import { readFrame } from "../../bench/relay_frames.ts";

const envelope = JSON.stringify({
  v: 1,
  id: "msg_01ABC",
  type: "message",
  from: "@a/x",
  to: ["@b/y"],
  payload: { nested: { id: "not-this-one" } },
});
const receipt = JSON.stringify({
  id: "msg_01ABC",
  state: "delivered",
  recipients: ["@b/y"],
  at: "2026-11-30T00:00:00.000Z",
});

Deno.test("load frames: deliver, receipt and accepted read by position agree with JSON.parse", () => {
  const deliver = `{"type":"deliver","seq":42,"envelope":${envelope}}`;
  assertEquals(readFrame(deliver), { type: "deliver", seq: 42, envelope: { id: "msg_01ABC" } });
  const r = `{"type":"receipt","seq":7,"receipt":${receipt}}`;
  assertEquals(readFrame(r), {
    type: "receipt",
    seq: 7,
    receipt: { id: "msg_01ABC", state: "delivered" },
  });
  const failed = `{"type":"receipt","seq":8,"receipt":${receipt.replace("delivered", "failed")}}`;
  assertEquals(readFrame(failed).receipt?.state === "delivered", false);
  const accepted = JSON.stringify({ type: "accepted", id: "msg_01ABC", at: "x" });
  assertEquals(readFrame(accepted), { type: "accepted", id: "msg_01ABC" });
});

Deno.test("load frames: other frames are parsed", () => {
  const error = JSON.stringify({ type: "error", code: "duplicate", id: "msg_1" });
  assertEquals(readFrame(error), JSON.parse(error));
  assertEquals(readFrame('{"type":"pong"}'), { type: "pong" });
  const odd = '{"type":"deliver","envelope":{"id":"m"},"seq":3}';
  assertEquals(readFrame(odd), JSON.parse(odd));
});
