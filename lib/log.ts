/**
 * The one logger: structured JSON lines on stderr. Field names that look secret are redacted,
 * so a careless call cannot leak a token or a private key into logs.
 */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const SECRET_KEY = /token|secret|private|password|cookie|authorization/i;

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
    else if (v instanceof Error) out[k] = v.message;
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
    const line = JSON.stringify({
      ts: new Date().toISOString(),
      level,
      component,
      msg,
      ...redact(fields),
    });
    console.error(line);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
