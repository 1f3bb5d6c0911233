/**
 * Settings with one name in three forms (design §10): flag `--name`, env `TASKFERRY_…`, and a
 * config-file key, with precedence flag > env > file > default. One spec drives parsing,
 * validation and the help text, so they cannot drift apart.
 */
import { join } from "node:path";
import { UsageError } from "./command.ts";
import { withEnvAliases } from "./env_aliases.ts";

/** How a setting's text becomes a value. */
export type SettingKind = "string" | "boolean" | "int" | "duration" | "addr" | "url" | "path";

/** One setting. */
export interface Setting {
  /** Flag name without dashes, e.g. `addr`. */
  flag: string;
  /** Environment variable. */
  env: string;
  /** Key in the config file's section, e.g. `addr` in `{"relay": {"addr": …}}`. */
  key: string;
  kind: SettingKind;
  /** Default as text (parsed like any other source), or undefined for none. */
  default?: string | undefined;
  /** Text shown for the default when it is computed (e.g. `$TASKFERRY_HOME/relay.db`). */
  defaultLabel?: string;
  /** Value placeholder in help, e.g. `HOST:PORT`. */
  meta?: string;
  help: string;
  min?: number;
  max?: number;
  /** The only values a string setting accepts. */
  choices?: readonly string[];
}

/** `--log-format`, shared by the long-running commands (the logger itself is lib/log.ts). */
export const LOG_FORMAT_SETTING: Setting = {
  flag: "log-format",
  env: "TASKFERRY_LOG_FORMAT",
  key: "log_format",
  kind: "string",
  choices: ["text", "json"],
  meta: "text|json",
  defaultLabel: "text on a terminal, json otherwise",
  help: "Log line format on stderr",
};

/** Parsed values, by flag name. */
export type SettingValues = Record<string, string | number | boolean | undefined>;

/** `$TASKFERRY_HOME`, default `~/.taskferry`. */
export function taskferryHome(env: Record<string, string | undefined> = Deno.env.toObject()) {
  if (env.TASKFERRY_HOME) return env.TASKFERRY_HOME;
  const home = env.HOME ?? env.USERPROFILE ?? ".";
  return join(home, ".taskferry");
}

/** The parseArgs option table for `settings` (plus any extra options). */
export function flagOptions(settings: readonly Setting[]) {
  const out: Record<string, { type: "string" | "boolean" }> = {};
  for (const s of settings) out[s.flag] = { type: s.kind === "boolean" ? "boolean" : "string" };
  return out;
}

/** Help lines for `settings`: flag, meta, description, env and default. */
export function settingsHelp(settings: readonly Setting[]): string {
  return settings.map((s) => {
    const flag = `--${s.flag}${s.kind === "boolean" ? "" : " " + (s.meta ?? metaFor(s.kind))}`;
    const dflt = s.defaultLabel ?? s.default;
    const tail = `[env ${s.env}${dflt !== undefined ? `; default ${dflt}` : ""}]`;
    const head = flag.length > 28 ? `  ${flag}\n  ${"".padEnd(30)}` : `  ${flag.padEnd(30)}`;
    return `${head}${s.help}\n  ${"".padEnd(30)}${tail}`;
  }).join("\n");
}

function metaFor(kind: SettingKind): string {
  switch (kind) {
    case "int":
      return "N";
    case "duration":
      return "DURATION";
    case "addr":
      return "HOST:PORT";
    case "url":
      return "URL";
    case "path":
      return "PATH";
    default:
      return "VALUE";
  }
}

const DURATION_RE = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `5m`, `2h`, `7d` into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : null;
}

/** Splits `host:port` (IPv6 in brackets); null when malformed. */
export function parseAddr(text: string): { hostname: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function parseValue(s: Setting, raw: string | boolean, source: string): string | number | boolean {
  const where = `${source} (${sourceName(s, source)})`;
  const bad = (why: string) =>
    new UsageError(`invalid ${where}: ${JSON.stringify(raw)} — ${why}; see: --help`);
  if (typeof raw === "boolean") {
    if (s.kind !== "boolean") throw bad("expected a value");
    return raw;
  }
  switch (s.kind) {
    case "boolean":
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw bad("use true or false");
    case "int": {
      if (!/^-?\d+$/.test(raw.trim())) throw bad("expected a whole number");
      const n = Number(raw);
      if (s.min !== undefined && n < s.min) throw bad(`must be at least ${s.min}`);
      if (s.max !== undefined && n > s.max) throw bad(`must be at most ${s.max}`);
      return n;
    }
    case "duration": {
      const ms = parseDuration(raw);
      if (ms === null) throw bad("expected a duration like 30s, 5m, 2h or 7d");
      if (s.min !== undefined && ms < s.min) throw bad(`must be at least ${s.min} ms`);
      return ms;
    }
    case "addr":
      if (!parseAddr(raw)) throw bad("expected HOST:PORT, e.g. 127.0.0.1:8080");
      return raw.trim();
    case "url":
      try {
        const u = new URL(raw);
        if (!/^(https?|wss?):$/.test(u.protocol)) throw new Error();
        return raw.trim().replace(/\/+$/, "");
      } catch {
        throw bad("expected an http(s) URL, e.g. https://relay.example.com");
      }
    default:
      if (raw === "") throw bad("must not be empty");
      if (s.choices && !s.choices.includes(raw)) throw bad(`use one of ${s.choices.join(", ")}`);
      return raw;
  }
}

function sourceName(s: Setting, source: string) {
  if (source === "flag") return `--${s.flag}`;
  if (source === "env") return s.env;
  if (source === "default") return "default";
  return `key "${s.key}"`;
}

/** Reads a JSON config file section; a missing default file is fine, a broken one is not. */
export function readConfigSection(
  path: string | undefined,
  section: string,
  required: boolean,
): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (!required && err instanceof Deno.errors.NotFound) return {};
    throw new UsageError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`config file ${path} is not valid JSON`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new UsageError(`config file ${path} must hold a JSON object`);
  }
  const value = (json as Record<string, unknown>)[section];
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`config file ${path}: "${section}" must be an object`);
  }
  return value as Record<string, unknown>;
}

/**
 * Resolves every setting: flag > env > file > default. Unknown keys in the file section are
 * an error, so typos do not silently fall back to defaults.
 */
export function resolveSettings(
  settings: readonly Setting[],
  flags: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined>,
  file: Record<string, unknown>,
  configPath = "config file",
): SettingValues {
  env = withEnvAliases(new Set(settings.map((s) => s.env)), env); // Go names: docs/migrating.md
  const known = new Set(settings.map((s) => s.key));
  for (const key of Object.keys(file)) {
    if (!known.has(key)) {
      throw new UsageError(
        `unknown key "${key}" in ${configPath}; known: ${[...known].join(", ")}`,
      );
    }
  }
  const out: SettingValues = {};
  for (const s of settings) {
    const fromFile = file[s.key];
    if (flags[s.flag] !== undefined) out[s.flag] = parseValue(s, flags[s.flag]!, "flag");
    else if (env[s.env] !== undefined && env[s.env] !== "") {
      out[s.flag] = parseValue(s, env[s.env]!, "env");
    } else if (fromFile !== undefined) {
      const raw = typeof fromFile === "boolean" ? fromFile : String(fromFile);
      out[s.flag] = parseValue(s, raw, configPath);
    } else if (s.default !== undefined) out[s.flag] = parseValue(s, s.default, "default");
  }
  return out;
}

/**
 * A command's settings: the home (`--home`, else `$TASKFERRY_HOME`, else `~/.taskferry`), then
 * every setting of `settings` from flags, env, the `section` of the config file (`--config`,
 * else `$TASKFERRY_CONFIG`, else `$home/config.json` when present) and defaults.
 */
export function resolveCommandSettings(
  section: string,
  settings: readonly Setting[],
  values: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): { home: string; s: SettingValues } {
  const home = (values.home as string | undefined) ?? taskferryHome(env);
  const configPath = (values.config as string | undefined) ?? env.TASKFERRY_CONFIG;
  const file = readConfigSection(configPath ?? join(home, "config.json"), section, !!configPath);
  return { home, s: resolveSettings(settings, values, env, file, configPath ?? "config file") };
}
