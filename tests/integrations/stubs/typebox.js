// A stand-in for `typebox` (tests only): the same JSON Schema output for the few builders the
// TaskFerry OpenClaw plugin uses. Optional is a symbol, so it never shows in the JSON.
const OPTIONAL = Symbol.for("TypeBox.Optional");

export const Type = {
  String: (opts = {}) => ({ ...opts, type: "string" }),
  Boolean: (opts = {}) => ({ ...opts, type: "boolean" }),
  Integer: (opts = {}) => ({ ...opts, type: "integer" }),
  Unknown: (opts = {}) => ({ ...opts }),
  Array: (items, opts = {}) => ({ ...opts, type: "array", items }),
  Union: (anyOf, opts = {}) => ({ ...opts, anyOf }),
  Optional: (schema) => ({ ...schema, [OPTIONAL]: "Optional" }),
  Object: (properties, opts = {}) => {
    const required = Object.keys(properties).filter((k) => !properties[k][OPTIONAL]);
    return { ...opts, type: "object", properties, ...(required.length ? { required } : {}) };
  },
};
