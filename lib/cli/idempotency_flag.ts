/**
 * `--idempotency-key`, the flag of the CLI verbs that create (send, task create and the task
 * actions, connect, agents create): without it the SDK sends a fresh key per run (and reuses it
 * on its own retries); with it, a script that reruns the same command after a timeout gets the
 * first answer back instead of a second message or task (docs/api.md, "Idempotency keys").
 */
import type { CallOptions } from "../sdk/mod.ts";

/** The flag, for `parseFlags`. */
export const KEY_FLAG = { "idempotency-key": { type: "string" } } as const;

/** Its help line. */
export const KEY_FLAG_HELP =
  `  --idempotency-key KEY  repeat-safe: the same KEY with the same request answers the first
                         result and does nothing again (24 h) [default: a fresh key per run]`;

/** The SDK call options the flag asks for. */
export function keyOption(values: { "idempotency-key"?: string | undefined }): CallOptions {
  const key = values["idempotency-key"];
  return key === undefined ? {} : { idempotencyKey: key };
}
