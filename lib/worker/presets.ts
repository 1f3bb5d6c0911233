/**
 * Adapters that turn a real agent CLI into the worker contract. Each preset builds the argv
 * (base command, its own flags, the owner's extra arguments, and the session to resume on a
 * revision) and parses the CLI's stdout into progress lines, a session id and the final result.
 *
 * - `claude`: Claude Code headless, `claude -p --output-format stream-json --verbose`, JSON lines
 *   `system` (init, with `session_id`), `assistant` (`message.content[]` of `text` / `tool_use`),
 *   `user` (tool results) and a final `result` (`subtype`, `is_error`, `result`, `session_id`).
 *   A revision resumes with `--resume <session_id>`.
 * - `codex`: `codex exec --json`, JSON lines `thread.started` (`thread_id`), `turn.started`,
 *   `item.started|updated|completed` (`item.type` `agent_message`, `reasoning`,
 *   `command_execution`, …), `turn.completed`, `turn.failed`, `error`. The last agent message is
 *   the result; a revision runs `codex exec --json … resume <thread_id> -`.
 *
 * Without a preset, every stdout line is progress and the whole stdout is the result.
 */

/** What one parsed stdout line yields. */
export interface ParsedLine {
  progress: string[];
}

/** What a whole run yielded, when the output says. */
export interface ParsedResult {
  /** The artifact content (undefined: use stdout). */
  content?: string;
  /** The session / thread to resume on the next revision. */
  session?: string;
  /** The CLI reported failure although it may have exited 0. */
  error?: string;
}

/** A stateful parser of one run's stdout. */
export interface OutputParser {
  line(line: string): ParsedLine;
  result(): ParsedResult;
}

/** A preset: how to call a CLI and read its output. */
export interface Preset {
  name: "claude" | "codex" | "exec";
  /** argv from the base command words, the extra arguments and the session to resume. */
  argv(base: string[], extra: string[], session?: string): string[];
  parser(): OutputParser;
  /** The base command when `--exec` is not given. */
  defaultBase: string[] | null;
}

/** The names `--preset` accepts. */
export const PRESET_NAMES = ["claude", "codex"] as const;

const MAX_PROGRESS_SNIPPET = 200;

function snippet(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? "";
  return text.length > MAX_PROGRESS_SNIPPET ? text.slice(0, MAX_PROGRESS_SNIPPET) + "…" : text;
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    const v = JSON.parse(line);
    return v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};
const str = (v: unknown): string | undefined => typeof v === "string" ? v : undefined;

/** A plain command: stdout lines are progress; stdout is the result. */
export const EXEC_PRESET: Preset = {
  name: "exec",
  defaultBase: null,
  argv: (base, extra) => [...base, ...extra],
  parser: () => ({ line: (l) => ({ progress: [l] }), result: () => ({}) }),
};

/** Claude Code headless with stream-json output. */
export const CLAUDE_PRESET: Preset = {
  name: "claude",
  defaultBase: ["claude"],
  argv: (base, extra, session) => [
    ...base,
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    ...extra,
    ...(session ? ["--resume", session] : []),
  ],
  parser() {
    const out: ParsedResult = {};
    return {
      line(line) {
        const ev = parseJsonLine(line);
        if (!ev) return { progress: [line] };
        const session = str(ev.session_id);
        if (session) out.session = session;
        if (ev.type === "assistant") {
          const progress: string[] = [];
          const content = obj(ev.message).content;
          for (const block of Array.isArray(content) ? content : []) {
            const b = obj(block);
            if (b.type === "text" && str(b.text)) progress.push(...lines(b.text as string));
            if (b.type === "tool_use") {
              progress.push(`[tool] ${str(b.name) ?? "?"} ${snippet(b.input)}`);
            }
          }
          return { progress };
        }
        if (ev.type === "result") {
          const text = str(ev.result) ?? "";
          if (ev.is_error === true || (ev.subtype !== undefined && ev.subtype !== "success")) {
            out.error = `claude: ${str(ev.subtype) ?? "error"}${text ? `: ${text}` : ""}`;
          } else {
            out.content = text;
          }
        }
        return { progress: [] };
      },
      result: () => ({ ...out }),
    };
  },
};

/** Codex CLI `exec --json` (JSONL thread events). */
export const CODEX_PRESET: Preset = {
  name: "codex",
  defaultBase: ["codex"],
  // Flags of `exec` come before its `resume` subcommand; "-" reads the prompt from stdin.
  argv: (base, extra, session) => [
    ...base,
    "exec",
    "--json",
    ...extra,
    ...(session ? ["resume", session] : []),
    "-",
  ],
  parser() {
    const out: ParsedResult = {};
    let last: string | undefined;
    return {
      line(line) {
        const ev = parseJsonLine(line);
        if (!ev) return { progress: [line] };
        const item = obj(ev.item);
        switch (ev.type) {
          case "thread.started":
            if (str(ev.thread_id)) out.session = ev.thread_id as string;
            return { progress: [] };
          case "item.started":
            if (item.type === "command_execution") {
              return { progress: [`$ ${snippet(item.command)}`] };
            }
            return { progress: [] };
          case "item.completed":
            if (item.type === "agent_message" && str(item.text) !== undefined) {
              last = item.text as string;
              return { progress: lines(last) };
            }
            if (item.type === "reasoning" && str(item.text)) {
              return { progress: [`(thinking) ${snippet(item.text)}`] };
            }
            if (item.type === "error" && str(item.message)) {
              return { progress: [`[error] ${snippet(item.message)}`] };
            }
            return { progress: [] };
          case "turn.failed":
            out.error = `codex: turn failed: ${str(obj(ev.error).message) ?? "unknown error"}`;
            return { progress: [] };
          case "error":
            out.error = `codex: ${str(ev.message) ?? "error"}`;
            return { progress: [] };
          default:
            return { progress: [] };
        }
      },
      result: () => (last !== undefined ? { ...out, content: last } : { ...out }),
    };
  },
};

/** The preset called `name` (undefined: a plain command). */
export function presetFor(name: string | undefined): Preset {
  if (name === "claude") return CLAUDE_PRESET;
  if (name === "codex") return CODEX_PRESET;
  return EXEC_PRESET;
}
