/**
 * The one logger: structured lines on stderr, JSON for machines or `text` for a person at a
 * terminal (the default follows whether stderr is a terminal; `--log-format` overrides). Field
 * names that look secret are redacted, and so are values that look like a TaskFerry token or a
 * setup link, so a careless call cannot leak a token or a private key into logs.
 */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const SECRET_KEY = /token|secret|private|password|passphrase|cookie|authorization/i;
/** Relay tokens (`tfr.…`), local API and agent tokens (`tfl_…`, `tfa_…`) and `token=` in links. */
const SECRET_VALUE =
  /\btfr\.[a-z0-9-]+\.[A-Za-z0-9_-]+|\btf[la]_[A-Za-z0-9_-]{16,}|([#&?]token=)[^&\s"]+/g;

/** How lines are written. */
export type LogFormat = "text" | "json";
let format: LogFormat = readFormat();

function readFormat(): LogFormat {
  try {
    const v = Deno.env.get("TASKFERRY_LOG_FORMAT");
    if (v === "text" || v === "json") return v;
  } catch {
    // no env permission: decide by the terminal
  }
  try {
    return Deno.stderr.isTerminal() ? "text" : "json";
  } catch {
    return "json";
  }
}

/** Sets the line format (`--log-format`). */
export function setLogFormat(f: LogFormat) {
  format = f;
}

/** `text` with anything that looks like a token replaced by `[redacted]`. */
export function redactText(text: string): string {
  return text.replace(SECRET_VALUE, (_m, prefix?: string) => `${prefix ?? ""}[redacted]`);
}

let threshold: LogLevel = readLevel();

function readLevel(): LogLevel {
  try {
    const v = Deno.env.get("TASKFERRY_LOG_LEVEL");
    if (v && v in ORDER) return v as LogLevel;
  } catch {
    // no env permission: keep the default
  }
  return "info";
}

/** Sets the minimum level that is written. */
export function setLogLevel(level: LogLevel) {
  threshold = level;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = "[redacted]";
    else if (v instanceof Error) out[k] = redactText(v.message);
    else if (typeof v === "string") out[k] = redactText(v);
    else out[k] = v;
  }
  return out;
}

/** A logger bound to a component name. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Returns a logger whose lines carry `component`. */
export function logger(component: string): Logger {
  const write = (level: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < ORDER[threshold]) return;
    const ts = new Date().toISOString();
    const safe = redact(fields);
    const text = redactText(msg);
    console.error(
      format === "json"
        ? JSON.stringify({ ts, level, component, msg: text, ...safe })
        : textLine(ts, level, component, text, safe),
    );
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** `2026-11-29T23:59:00.000Z WARN  relay  msg key=value key="two words"`. */
function textLine(
  ts: string,
  level: LogLevel,
  component: string,
  msg: string,
  fields: Record<string, unknown>,
): string {
  const kv = Object.entries(fields).map(([k, v]) => {
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return `${k}=${/^[^\s"=]+$/.test(s ?? "") ? s : JSON.stringify(s ?? null)}`;
  });
  return [ts, level.toUpperCase().padEnd(5), component, msg, ...kv].join(" ");
}
