/** Small assertion helpers for tests (JSR's @std/assert is not reachable from this build). */
import { deepStrictEqual, notDeepStrictEqual } from "node:assert/strict";
import { TaskferryError } from "../lib/protocol/errors.ts";

/** Throws when `condition` is falsy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep, strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  deepStrictEqual(actual, expected, message);
}

/** Deep, strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  notDeepStrictEqual(actual, expected, message);
}

/** Awaits `fn`, expects it to throw an instance of `type`, and returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  type?: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (type && !(err instanceof type)) {
      throw new Error(`expected ${type.name}, got ${String(err)}`);
    }
    return err as E;
  }
  throw new Error("expected a rejection, got none");
}

/** Calls `fn`, expects it to throw an instance of `type`, and returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  type?: new (...args: never[]) => E,
): E {
  try {
    fn();
  } catch (err) {
    if (type && !(err instanceof type)) {
      throw new Error(`expected ${type.name}, got ${String(err)}`);
    }
    return err as E;
  }
  throw new Error("expected a throw, got none");
}

/** Expects `fn` to fail with a {@link TaskferryError} of `code`; returns it. */
export async function assertCode(
  fn: () => unknown,
  code: string,
): Promise<TaskferryError> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof TaskferryError)) throw new Error(`expected ${code}, got ${String(err)}`);
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  throw new Error(`expected ${code}, got success`);
}
