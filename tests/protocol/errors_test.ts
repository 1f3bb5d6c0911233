import { assert, assertCode, assertEquals } from "../assert.ts";
import {
  type ErrorCode,
  ERRORS,
  fail,
  isErrorCode,
  TaskferryError,
} from "../../lib/protocol/errors.ts";

const CODES = Object.keys(ERRORS) as ErrorCode[];

Deno.test("every catalogue entry has a 4xx/5xx status and a message", () => {
  assert(CODES.length > 0);
  for (const code of CODES) {
    const { status, message } = ERRORS[code];
    assert(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`);
    assert(typeof message === "string" && message.trim().length > 0, `${code} has no message`);
    assert(/^[a-z][a-z0-9_]*$/.test(code), `${code} is not snake_case`);
  }
});

Deno.test("codes used by the state machine and store exist", () => {
  for (
    const code of [
      "illegal_transition",
      "task_role",
      "task_not_found",
      "task_expired",
      "max_revisions_reached",
      "artifact_version_mismatch",
      "database_too_new",
      "invalid_envelope",
      "bad_signature",
    ]
  ) {
    assert(isErrorCode(code), code);
  }
});

Deno.test("TaskferryError takes status and default message from the catalogue", () => {
  for (const code of CODES) {
    const err = new TaskferryError(code);
    assert(err instanceof Error);
    assertEquals(err.name, "TaskferryError");
    assertEquals(err.code, code);
    assertEquals(err.status, ERRORS[code].status);
    assertEquals(err.message, ERRORS[code].message);
    assertEquals(err.details, undefined);
  }
  const custom = new TaskferryError("not_found", "no task task_x", { id: "task_x" });
  assertEquals(custom.message, "no task task_x");
  assertEquals(custom.status, 404);
  assertEquals(custom.details, { id: "task_x" });
});

Deno.test("toBody has the API error shape, with details only when given", () => {
  assertEquals(new TaskferryError("rate_limited").toBody(), {
    error: { code: "rate_limited", message: ERRORS.rate_limited.message },
  });
  const body = new TaskferryError("validation_failed", "to: required", [{ path: "to" }]).toBody();
  assertEquals(body, {
    error: { code: "validation_failed", message: "to: required", details: [{ path: "to" }] },
  });
  assert(!("details" in new TaskferryError("internal").toBody().error));
  // details: null is a value and is kept.
  assertEquals(new TaskferryError("internal", "x", null).toBody().error.details, null);
  // The body survives JSON unchanged.
  assertEquals(JSON.parse(JSON.stringify(body)), body);
});

Deno.test("fail builds a TaskferryError", async () => {
  const err = fail("conflict", "already", { a: 1 });
  assert(err instanceof TaskferryError);
  assertEquals([err.code, err.status, err.message, err.details], ["conflict", 409, "already", {
    a: 1,
  }]);
  await assertCode(() => {
    throw fail("forbidden");
  }, "forbidden");
});

Deno.test("isErrorCode accepts catalogue codes only", () => {
  for (const code of CODES) assert(isErrorCode(code));
  for (const bad of ["", "nope", "toString", "__proto__", "constructor", 404, null, undefined]) {
    assert(!isErrorCode(bad), String(bad));
  }
});
