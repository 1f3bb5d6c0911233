import { z } from "zod";

/**
 * Per-direction permissions of a connection (design §6): what the peer may send to the local
 * agent. The relay enforces the first five; the receiving daemon enforces the gate.
 */
export const PermissionsSchema = z.strictObject({
  can_message: z.boolean(),
  can_send_task: z.boolean(),
  can_send_artifact: z.boolean(),
  max_rate_per_minute: z.number().int().min(1).max(100_000),
  max_open_tasks: z.number().int().min(0).max(10_000),
  require_human_gate: z.boolean(),
});

/** Permissions of one direction of a connection. */
export type Permissions = z.infer<typeof PermissionsSchema>;

/** A partial update of permissions, as sent by an owner editing a connection. */
export const PermissionsPatchSchema = PermissionsSchema.partial();
export type PermissionsPatch = z.infer<typeof PermissionsPatchSchema>;

/** What a new connection allows until the owner edits it. */
export const DEFAULT_PERMISSIONS: Readonly<Permissions> = Object.freeze({
  can_message: true,
  can_send_task: true,
  can_send_artifact: true,
  max_rate_per_minute: 600,
  max_open_tasks: 20,
  require_human_gate: false,
});

/** Defaults overlaid with `patch`; keys that are not permissions are ignored. */
export function withDefaults(patch: PermissionsPatch | undefined): Permissions {
  const out: Permissions = { ...DEFAULT_PERMISSIONS };
  if (patch) {
    // Only known keys are copied: a patch that skipped validation must not add fields (or set
    // `__proto__`) on a value that is stored and sent on.
    for (const k of Object.keys(DEFAULT_PERMISSIONS) as (keyof Permissions)[]) {
      const v = Object.hasOwn(patch, k) ? patch[k] : undefined;
      if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

/** Which permission flag a message type needs, or null when any connection may send it. */
export function permissionFor(type: string): keyof Permissions | null {
  switch (type) {
    case "message":
      return "can_message";
    case "task_request":
      return "can_send_task";
    case "artifact_submit":
      return "can_send_artifact";
    default:
      return null;
  }
}
