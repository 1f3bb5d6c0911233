// The diff between two artifact versions on the task page. The diff is computed once per pair
// of versions (not on every live update) and the table shows its first rows, then more on
// request: a 40,000-line artifact costs the same first paint as a 40-line one.
import { useEffect, useMemo, useState } from "preact/hooks";
import { Empty, html } from "../ui.js";
import { diffStats, lineDiff } from "./diff.js";

/** Rows shown first, and per "Show more". */
export const DIFF_ROWS = 300;
const MORE_ROWS = 1_000;

function Row({ r }) {
  const op = r.op === "+" ? "added" : r.op === "-" ? "removed" : "unchanged";
  return html`
    <tr class=${r.op === "+" ? "add" : r.op === "-" ? "del" : ""}>
      <td class="ln">${r.a ?? ""}</td>
      <td class="ln">${r.b ?? ""}</td>
      <td class="op" aria-label=${op}>${r.op}</td>
      <td class="text">
        <pre>${r.text.length > 2000 ? r.text.slice(0, 2000) + "…" : r.text}</pre>
      </td>
    </tr>
  `;
}

/**
 * "Compare versions": two selects, counts, and the bounded line diff; `extra(a, b)` renders
 * more for the chosen pair (the task page: the versions' text files, files.js).
 */
export function Diff({ artifacts, extra }) {
  const n = artifacts.length;
  const [from, setFrom] = useState(n - 1);
  const [to, setTo] = useState(n);
  useEffect(() => {
    setFrom(n - 1);
    setTo(n);
  }, [n]);
  const a = artifacts.find((x) => x.version === Number(from));
  const b = artifacts.find((x) => x.version === Number(to));
  // Versions never change once submitted: (from, to, count) identifies the pair.
  const rows = useMemo(() => (a && b ? lineDiff(a.content, b.content) : []), [from, to, n, !!a]);
  const stats = useMemo(() => diffStats(rows), [rows]);
  const select = (id, value, set, label) =>
    html`
      <label for=${id}>${label}</label>
      <select id=${id} value=${value} onChange=${(e) => set(Number(e.currentTarget.value))}>
        ${artifacts.map((x) => html`<option value=${x.version}>v${x.version}</option>`)}
      </select>
    `;
  return html`<section aria-labelledby="diff-h">
    <h2 id="diff-h">Compare versions</h2>
    <form class="inline" onSubmit=${(e) => e.preventDefault()}>
      ${select("diff-from", from, setFrom, "From")} ${select("diff-to", to, setTo, "To")}
      <span class="muted" role="status"><span class="add">+${stats.added}</span> <span class="del">−${stats.removed}</span></span>
    </form>
    <${DiffTable} rows=${rows} label=${`Line diff from v${from} to v${to}`} />
    ${rows.length === 0 ? html`<${Empty}>Both versions are empty.</${Empty}>` : ""}
    ${extra && a && b ? extra(a, b) : ""}
  </section>`;
}

/** The bounded diff table: the first DIFF_ROWS rows, then more on request (files.js too). */
export function DiffTable({ rows, label }) {
  const [shown, setShown] = useState(DIFF_ROWS);
  useEffect(() => setShown(DIFF_ROWS), [rows]);
  const visible = rows.length > shown ? rows.slice(0, shown) : rows;
  return html`
    <div class="table-wrap diff-wrap">
      <table class="diff" aria-label=${label}>
        <tbody>${visible.map((r, i) => html`<${Row} key=${i} r=${r} />`)}</tbody>
      </table>
    </div>
    ${rows.length > shown
      ? html`<p class="muted">Showing ${shown} of ${rows.length} lines.
          <button type="button" class="secondary" onClick=${() =>
        setShown(shown + MORE_ROWS)}>Show ${Math.min(MORE_ROWS, rows.length - shown)} more</button>
          <button type="button" class="link" onClick=${() =>
        setShown(rows.length)}>Show all</button></p>`
      : ""}
  `;
}
