import { assert, assertEquals, assertThrows } from "../assert.ts";
import { ID_PREFIXES, idPattern, idTime, isId, newId, ulid } from "../../lib/protocol/ids.ts";

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]+$/;

// Runs first: later tests move this process's id clock into the future on purpose.
Deno.test("ulid encodes the current time", () => {
  const before = Date.now();
  const u = ulid();
  const after = Date.now();
  assertEquals(u.length, 26);
  assert(
    idTime(u) >= before && idTime(u) <= after,
    `time ${idTime(u)} not in [${before}, ${after}]`,
  );
});

Deno.test("newId is <prefix>_<26-char ULID> for every prefix", () => {
  for (const prefix of ID_PREFIXES) {
    const id = newId(prefix);
    const [head, body, ...rest] = id.split("_");
    assertEquals(head, prefix);
    assertEquals(rest, []);
    assertEquals(body!.length, 26);
    assert(CROCKFORD.test(body!), `not Crockford base32: ${body}`);
    assert(isId(id, prefix), id);
    assert(idPattern(prefix).test(id), id);
  }
});

Deno.test("ids made in the same millisecond are strictly increasing", () => {
  const now = Date.now() + 60_000; // ahead of any id made so far, so this millisecond is fresh
  const ids = Array.from({ length: 10_000 }, () => newId("msg", now));
  for (let i = 1; i < ids.length; i++) {
    assert(ids[i - 1]! < ids[i]!, `not increasing at ${i}: ${ids[i - 1]} >= ${ids[i]}`);
  }
  assertEquals(new Set(ids).size, ids.length);
  // All in the same millisecond: the time part is shared, only the random part moves.
  assertEquals(new Set(ids.map((id) => id.slice(4, 14))).size, 1);
  assertEquals(idTime(ids[0]!), now);
  assertEquals(idTime(ids.at(-1)!), now);
});

Deno.test("ids sort by creation time across milliseconds", () => {
  const base = Date.now() + 120_000;
  const ids = [newId("task", base), newId("task", base + 1), newId("task", base + 1000)];
  assertEquals([...ids].reverse().sort(), ids);
  assertEquals(ids.map(idTime), [base, base + 1, base + 1000]);
});

Deno.test("a clock that goes backwards still yields increasing ids", () => {
  const ahead = Date.now() + 180_000;
  const a = newId("msg", ahead);
  const b = newId("msg", ahead - 5000);
  assert(a < b, `${a} >= ${b}`);
  assertEquals(idTime(b), ahead, "the id keeps the latest time seen");
});

Deno.test("idTime reads the millisecond timestamp", () => {
  const t = Date.UTC(2026, 10, 21, 20, 0, 0, 123);
  const later = Date.now() + 240_000;
  // An explicit time later than any so far is used as-is.
  assertEquals(idTime(newId("conv", later)), later);
  assertEquals(idTime("msg_" + "00000000000000000000000000"), 0);
  assertEquals(idTime("msg_7ZZZZZZZZZ" + "0".repeat(16)), 2 ** 48 - 1);
  // A hand-built ULID for a known date.
  let time = "";
  for (let ms = t, i = 0; i < 10; i++, ms = Math.floor(ms / 32)) {
    time = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[ms % 32] + time;
  }
  assertEquals(idTime(`dev_${time}${"0".repeat(16)}`), t);
});

Deno.test("isId and idPattern reject malformed ids", () => {
  const good = newId("msg");
  const body = good.slice(4);
  const bad = [
    "",
    "msg",
    "msg_",
    body,
    `msg-${body}`,
    `task_${body}`, // wrong prefix
    `msg_${body.slice(1)}`, // 25 chars
    `msg_${body}0`, // 27 chars
    `msg_${body.toLowerCase()}`,
    `msg_8${body.slice(1)}`, // first char > 7 overflows 48 bits
    `msg_${body.slice(0, 25)}I`, // I, L, O, U are not Crockford
    `msg_${body.slice(0, 25)}L`,
    `msg_${body.slice(0, 25)}O`,
    `msg_${body.slice(0, 25)}U`,
    ` ${good}`,
    `${good}\n`,
  ];
  for (const id of bad) {
    assert(!isId(id, "msg"), `isId accepted ${JSON.stringify(id)}`);
    assert(!idPattern("msg").test(id), `idPattern accepted ${JSON.stringify(id)}`);
  }
  for (const value of [null, undefined, 42, {}, [good]]) assert(!isId(value, "msg"));
  assert(isId(good, "msg"));
  assert(isId(`msg_7${body.slice(1)}`, "msg"), "7 is the largest first character");
});

Deno.test("newId refuses a time that cannot be encoded", () => {
  for (const bad of [NaN, Infinity, -1, 2 ** 48]) {
    assertThrows(() => newId("msg", bad), RangeError);
  }
  // A fractional time is truncated to its millisecond rather than encoded as garbage.
  const t = Date.now() + 300_000.7;
  const id = newId("msg", t);
  assert(isId(id, "msg"), id);
  assertEquals(idTime(id), Math.floor(t));
});
