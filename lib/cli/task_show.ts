/**
 * What `taskferry task show` prints: the task, its timeline, and the work itself — the latest
 * artifact's content, a chosen version, or the unified diff between two versions — so the
 * requester reads what was delivered without opening the dashboard.
 */
import { ApiError, type TaskDetail, type TaskView } from "../sdk/mod.ts";
import { UsageError } from "./command.ts";
import { unifiedDiff } from "./unified_diff.ts";

/** One line per task (list, create and the actions print it). */
export function taskLine(t: TaskView): string {
  return `${t.id}  ${
    t.state.padEnd(18)
  } ${t.requester} → ${t.worker}  v${t.artifact_version}  ${t.title}${
    t.gate === "pending" ? "  [awaiting approval]" : ""
  }`;
}

/** Parses `--diff A..B` (`v` prefixes allowed; `A..` means up to the latest version). */
export function parseDiffRange(text: string): { from: number; to: number | null } {
  const m = /^v?(\d+)\.\.(?:v?(\d+))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--diff takes two versions like 1..2 (got '${text}')`);
  return { from: Number(m[1]), to: m[2] === undefined ? null : Number(m[2]) };
}

/** Parses `--version N`. */
export function parseVersion(text: string): number {
  const m = /^v?(\d+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) {
    throw new UsageError(`--version takes a number like 2 (got '${text}')`);
  }
  return Number(m[1]);
}

function artifactOf(d: TaskDetail, version: number) {
  const a = d.artifacts.find((x) => x.version === version);
  if (a) return a;
  const have = d.artifacts.length
    ? `it has ${d.artifacts.map((x) => `v${x.version}`).join(", ")}`
    : "it has no artifact yet";
  throw new ApiError(404, "not_found", `task ${d.task.id} has no artifact v${version} (${have})`);
}

/** The human text of `task show`, with the content `view` asks for. */
export function showTask(
  d: TaskDetail,
  view: { version?: number; diff?: { from: number; to: number | null } },
): string {
  const t = d.task;
  if (view.diff) {
    const to = view.diff.to ?? t.artifact_version;
    const a = artifactOf(d, view.diff.from);
    const b = artifactOf(d, to);
    const diff = unifiedDiff(
      a.content,
      b.content,
      `${t.id} v${a.version}`,
      `${t.id} v${b.version}`,
    );
    return diff === "" ? `v${a.version} and v${b.version} have the same content` : diff.trimEnd();
  }
  const head = [
    taskLine(t),
    `instructions: ${t.instructions}`,
    "",
    "timeline:",
    ...d.events.map((e) =>
      `  ${e.at}  ${e.type.padEnd(16)} ${e.actor}${
        e.delivery_state ? `  [${e.delivery_state}]` : ""
      }`
    ),
  ];
  if (d.artifacts.length === 0 && view.version === undefined) {
    return [...head, "", "no artifact yet"].join("\n");
  }
  const shown = artifactOf(d, view.version ?? Math.max(...d.artifacts.map((a) => a.version)));
  const others = d.artifacts.filter((a) => a.version !== shown.version).map((a) => `v${a.version}`);
  return [
    ...head,
    "",
    `── artifact v${shown.version}${
      shown.name ? ` ${shown.name}` : ""
    } (${shown.content_type}, ${shown.created_at}) ──`,
    shown.content.trimEnd(),
    `── end of v${shown.version}${
      others.length ? `; also ${others.join(", ")} (--version N, --diff A..B)` : ""
    } ──`,
  ].join("\n");
}
