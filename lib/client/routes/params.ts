/** Query and path parameters of the loopback API, parsed with catalogue errors. */
import { fail, HandleSchema } from "../../protocol/mod.ts";

/** A whole-number parameter in [min, max], `dflt` when absent. */
export function intParam(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
  dflt: number,
): number {
  if (value === undefined || value === "") return dflt;
  if (!/^\d+$/.test(value)) throw fail("validation_failed", `${name} must be a whole number`);
  const n = Number(value);
  if (n < min || n > max) {
    throw fail("validation_failed", `${name} must be between ${min} and ${max}`);
  }
  return n;
}

/** A handle given as two path segments (`/@owner/name`). */
export function handleParam(owner: string, name: string): string {
  const handle = `${owner}/${name}`;
  if (!HandleSchema.safeParse(handle).success) throw fail("invalid_handle");
  return handle;
}
