// A stand-in for `openclaw/plugin-sdk/tool-plugin` (tests only): defineToolPlugin checks each
// tool the way OpenClaw's loader does (name, description, object parameters, execute) and
// returns the plugin with its tools resolved.
export function defineToolPlugin(def) {
  for (const key of ["id", "name", "description"]) {
    if (typeof def[key] !== "string" || def[key] === "") throw new Error(`plugin needs ${key}`);
  }
  const tool = (t) => {
    if (!/^[a-z0-9_]+$/.test(t.name ?? "")) throw new Error(`bad tool name ${t.name}`);
    if (typeof t.description !== "string" || !t.description) {
      throw new Error(`${t.name}: description`);
    }
    if (t.parameters?.type !== "object") {
      throw new Error(`${t.name}: parameters must be an object schema`);
    }
    if (typeof t.execute !== "function") throw new Error(`${t.name}: execute`);
    return t;
  };
  return { ...def, tools: def.tools(tool) };
}
