/**
 * A unified diff (`diff -u` layout) for `taskferry task show --diff`. The line matching is the
 * dashboard's own (web/dashboard/diff.js, DOM-free and bounded), so the terminal and the
 * browser show the same changes; this file only groups its rows into hunks.
 */
import { lineDiff } from "../../web/dashboard/diff.js";

interface Row {
  op: " " | "-" | "+";
  text: string;
  a: number | null;
  b: number | null;
}

/**
 * The unified diff from `before` to `after`, with `context` unchanged lines around each change;
 * "" when the texts have the same lines.
 *
 * @example unifiedDiff("a\nb\n", "a\nc\n", "v1", "v2")
 * // "--- v1\n+++ v2\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
 */
export function unifiedDiff(
  before: string,
  after: string,
  labelA: string,
  labelB: string,
  context = 3,
): string {
  const rows = lineDiff(before, after) as Row[];
  const changed = rows.flatMap((r, i) => (r.op === " " ? [] : [i]));
  if (changed.length === 0) return "";
  const out = [`--- ${labelA}`, `+++ ${labelB}`];
  // Changes whose contexts touch share a hunk.
  const groups: [number, number][] = [];
  for (const i of changed) {
    const g = groups.at(-1);
    if (g && i - g[1] <= 2 * context + 1) g[1] = i;
    else groups.push([i, i]);
  }
  for (const [first, last] of groups) out.push(...hunk(rows, first, last, context));
  return out.join("\n") + "\n";
}

function hunk(rows: Row[], firstChange: number, lastChange: number, context: number): string[] {
  const from = Math.max(0, firstChange - context);
  const to = Math.min(rows.length - 1, lastChange + context);
  const slice = rows.slice(from, to + 1);
  const aLines = slice.filter((r) => r.op !== "+").length;
  const bLines = slice.filter((r) => r.op !== "-").length;
  // The start line numbers: the first row's own, or (for a pure insertion/deletion at the
  // edge) the line before, as diff -u writes them.
  const aStart = aLines === 0 ? lineBefore(rows, from, "a") : firstLine(slice, "a");
  const bStart = bLines === 0 ? lineBefore(rows, from, "b") : firstLine(slice, "b");
  return [
    `@@ -${range(aStart, aLines)} +${range(bStart, bLines)} @@`,
    ...slice.map((r) => `${r.op}${r.text}`),
  ];
}

function firstLine(slice: Row[], side: "a" | "b"): number {
  return slice.find((r) => r[side] !== null)![side]!;
}

function lineBefore(rows: Row[], from: number, side: "a" | "b"): number {
  for (let i = from - 1; i >= 0; i--) if (rows[i]![side] !== null) return rows[i]![side]!;
  return 0;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}
