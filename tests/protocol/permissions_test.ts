import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  DEFAULT_PERMISSIONS,
  permissionFor,
  type Permissions,
  PermissionsPatchSchema,
  PermissionsSchema,
  withDefaults,
} from "../../lib/protocol/permissions.ts";
import { MESSAGE_TYPES } from "../../lib/protocol/schemas.ts";

Deno.test("the defaults are valid, frozen and as documented", () => {
  assert(PermissionsSchema.safeParse(DEFAULT_PERMISSIONS).success);
  assert(Object.isFrozen(DEFAULT_PERMISSIONS));
  assertThrows(() => {
    (DEFAULT_PERMISSIONS as Permissions).can_message = false;
  }, TypeError);
  assertEquals({ ...DEFAULT_PERMISSIONS }, {
    can_message: true,
    can_send_task: true,
    can_send_artifact: true,
    max_rate_per_minute: 600,
    max_open_tasks: 20,
    require_human_gate: false,
  });
});

Deno.test("withDefaults returns a fresh copy of the defaults without a patch", () => {
  for (const patch of [undefined, {}]) {
    const p = withDefaults(patch);
    assertEquals(p, { ...DEFAULT_PERMISSIONS });
    assert(!Object.isFrozen(p), "the result is the caller's to edit");
    p.can_message = false;
    assertEquals(DEFAULT_PERMISSIONS.can_message, true, "editing the copy leaves the defaults");
  }
});

Deno.test("withDefaults overlays the patch and ignores undefined values", () => {
  const p = withDefaults({
    can_send_task: false,
    max_open_tasks: 0,
    require_human_gate: true,
    can_message: undefined,
  });
  assertEquals(p, {
    ...DEFAULT_PERMISSIONS,
    can_send_task: false,
    max_open_tasks: 0,
    require_human_gate: true,
  });
  assert(PermissionsSchema.safeParse(p).success);
});

Deno.test("withDefaults ignores keys that are not permissions", () => {
  const patch = JSON.parse('{"max_rate_per_minute": 5, "admin": true, "__proto__": {"x": 1}}');
  const p = withDefaults(patch);
  assertEquals(p, { ...DEFAULT_PERMISSIONS, max_rate_per_minute: 5 });
  assertEquals(Object.getPrototypeOf(p), Object.prototype);
  assert(PermissionsSchema.safeParse(p).success, "the result still matches the strict schema");
});

Deno.test("the schemas refuse unknown keys and out-of-range values", () => {
  const bad = [
    { can_message: "yes" },
    { max_rate_per_minute: 0 },
    { max_rate_per_minute: 100_001 },
    { max_rate_per_minute: 1.5 },
    { max_open_tasks: -1 },
    { max_open_tasks: 10_001 },
    { admin: true },
  ];
  for (const patch of bad) {
    assert(!PermissionsPatchSchema.safeParse(patch).success, JSON.stringify(patch));
    assert(!PermissionsSchema.safeParse({ ...DEFAULT_PERMISSIONS, ...patch }).success);
  }
  assert(PermissionsPatchSchema.safeParse({}).success);
  assert(!PermissionsSchema.safeParse({}).success, "full permissions need every field");
  assert(PermissionsPatchSchema.safeParse({ max_open_tasks: 0, max_rate_per_minute: 1 }).success);
});

Deno.test("permissionFor names the flag each message type needs", () => {
  const expected: Record<string, keyof Permissions> = {
    message: "can_message",
    task_request: "can_send_task",
    artifact_submit: "can_send_artifact",
  };
  for (const type of MESSAGE_TYPES) assertEquals(permissionFor(type), expected[type] ?? null, type);
  assertEquals(permissionFor("unknown"), null);
});
