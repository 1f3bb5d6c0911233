// Files on tasks, artifacts and messages (issue 16): name, size, type and transfer state, a
// download link, previews of images and text, and a diff of a text file between two artifact
// versions. Images load from `GET /v1/files/{id}?inline=1`, which the daemon serves inline only
// for raster images and text/plain (never HTML or SVG). Texts are read with fetch() and shown as
// text (never parsed as markup), up to a bound: a peer's 2 GB "notes.txt" costs the page no more
// than its first bytes.
import { useEffect, useMemo, useState } from "preact/hooks";
import { Badge, Empty, html } from "../ui.js";
import { ClippedText, shortText } from "./clip.js";
import { diffStats, lineDiff } from "./diff.js";
import { DiffTable } from "./diff_view.js";

/** Bytes of a text file read for its preview, and for each side of a diff. */
export const PREVIEW_BYTES = 64 * 1024;
export const DIFF_BYTES = 1024 * 1024;

/** The images the daemon serves inline (lib/client/routes/files.ts has the same list). */
const IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
/** Types previewed and diffed as text: text/* but HTML, and the common structured texts. */
const TEXT = /^(text\/(?!html$)[\w.+-]+|application\/(json|xml|yaml|x-yaml|x-ndjson))$/;
const baseType = (f) => String(f.media_type ?? "").split(";")[0].trim().toLowerCase();
export const isImage = (f) => IMAGES.has(baseType(f));
export const isText = (f) => TEXT.test(baseType(f));

/** How often a view with a pending file reloads (file events mark only starts and ends). */
export const PENDING_POLL_MS = 1000;

/** Calls `reload` every PENDING_POLL_MS while any of `files` is pending: live progress. */
export function usePendingPoll(files, reload) {
  const pending = (files ?? []).some((f) => f?.state === "pending");
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(reload, PENDING_POLL_MS);
    return () => clearInterval(timer);
  }, [pending]);
}

/** "1.4 MB" for a byte count. */
export function formatSize(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} B`;
}

/** The file's URL on this daemon (`inline` for previews; `agent` when the view names one). */
export function fileUrl(f, { inline = false, agent } = {}) {
  const q = new URLSearchParams();
  if (agent) q.set("agent", agent);
  if (inline) q.set("inline", "1");
  const s = q.toString();
  return `/v1/files/${encodeURIComponent(f.id)}${s ? "?" + s : ""}`;
}

/** The first `limit` bytes of a text file, decoded; `{ text, clipped }`. */
export async function fetchText(url, limit) {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
  const reader = res.body.getReader();
  const parts = [];
  let got = 0;
  let clipped = false;
  while (got < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
  }
  if (got >= limit) {
    clipped = true;
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(got);
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  const text = new TextDecoder().decode(all.subarray(0, Math.min(got, limit)));
  return { text, clipped };
}

/** Reads a text (bounded) once per url; `{ text, clipped }`, `{ error }` or null while loading. */
function useText(url, limit) {
  const [state, setState] = useState(null);
  useEffect(() => {
    if (!url) return;
    let live = true;
    setState(null);
    fetchText(url, limit).then(
      (r) => live && setState(r),
      (e) => live && setState({ error: String(e.message ?? e) }),
    );
    return () => void (live = false);
  }, [url, limit]);
  return state;
}

function TextPreview({ url }) {
  const t = useText(url, PREVIEW_BYTES);
  if (!t) return html`<p class="loading" role="status">Loading preview…</p>`;
  if (t.error) return html`<p class="muted">No preview (${t.error}).</p>`;
  return html`<div class="file-preview">
    <${ClippedText} text=${t.text} />
    ${t.clipped ? html`<p class="muted">First ${formatSize(PREVIEW_BYTES)} shown.</p>` : ""}
  </div>`;
}

function FileState({ f }) {
  if (f.state === "pending") {
    const pct = f.chunks ? Math.floor((f.done_chunks / f.chunks) * 100) : 0;
    return html`
      <${Badge} state="pending" label=${`pending ${pct}%`} />
      <progress max=${f.chunks || 1} value=${f.done_chunks} aria-label=${`${f.name} transferred`}>
            </progress>
    `;
  }
  if (f.state === "failed") {
    return html`<${Badge} state="failed" /> <span class="reason">${
      shortText(f.error ?? "", 300)
    }</span>`;
  }
  return html`<${Badge} state="ready" label="ready" />`;
}

function FileItem({ f, agent }) {
  const ready = f.state === "ready";
  return html`<li class="file" data-file=${f.name}>
    <div class="file-head">
      <strong class="file-name">${shortText(f.name, 200)}</strong>
      <span class="muted">${formatSize(f.size)} · ${shortText(f.media_type, 100)}</span>
      <${FileState} f=${f} />
      ${
    ready
      ? html`<a class="file-download" href=${fileUrl(f, { agent })} download=${f.name}>Download</a>`
      : ""
  }
    </div>
    ${
    ready && isImage(f)
      ? html`
        <img class="file-image" src=${fileUrl(f, { inline: true, agent })} alt=${f.name}
          loading="lazy" />
      `
      : ""
  }
    ${ready && isText(f) ? html`<${TextPreview} url=${fileUrl(f, { agent })} />` : ""}
  </li>`;
}

/** The list of a request's, artifact's or message's files (nothing when it has none). */
export function FileList({ files, agent, label = "Files" }) {
  if (!files?.length) return null;
  return html`<ul class="files" aria-label=${label}>${
    files.map((f) => html`<${FileItem} key=${f.id} f=${f} agent=${agent} />`)
  }</ul>`;
}

function FileDiff({ name, before, after }) {
  const a = useText(fileUrl(before), DIFF_BYTES);
  const b = useText(fileUrl(after), DIFF_BYTES);
  const rows = useMemo(
    () => (a?.text !== undefined && b?.text !== undefined ? lineDiff(a.text, b.text) : null),
    [a, b],
  );
  const stats = rows ? diffStats(rows) : null;
  return html`<div class="file-diff" data-file=${name}>
    <h3>${shortText(name, 200)} ${
    stats
      ? html`
        <span
          class="muted"><span class="add">+${stats.added}</span> <span class="del">−${stats
            .removed}</span></span>
      `
      : ""
  }</h3>
    ${a?.error || b?.error ? html`<p class="muted">No diff (${a?.error ?? b?.error}).</p>` : ""}
    ${!rows && !(a?.error || b?.error) ? html`<p class="loading" role="status">Loading…</p>` : ""}
    ${
    a?.clipped || b?.clipped
      ? html`<p class="muted">First ${formatSize(DIFF_BYTES)} compared.</p>`
      : ""
  }
    ${rows ? html`<${DiffTable} rows=${rows} label=${`Line diff of ${name}`} />` : ""}
  </div>`;
}

/** Text files of the same name in both versions, diffed (inside "Compare versions"). */
export function FileDiffs({ from, to }) {
  const pairs = [];
  for (const after of to?.files ?? []) {
    const before = (from?.files ?? []).find((f) => f.name === after.name);
    if (!before || !isText(before) || !isText(after)) continue;
    if (before.state !== "ready" || after.state !== "ready") continue;
    pairs.push([before, after]);
  }
  if (!from?.files?.length && !to?.files?.length) return null;
  return html`<div class="file-diffs" aria-label="File diffs">
    <h3>Files</h3>
    ${
    pairs.length === 0
      ? html`<${Empty}>No text file of the same name in both versions.</${Empty}>`
      : pairs.map(([a, b]) =>
        a.sha256 === b.sha256
          ? html`<p key=${b.id} class="muted">${shortText(b.name, 200)}: unchanged.</p>`
          : html`<${FileDiff} key=${a.id + b.id} name=${b.name} before=${a} after=${b} />`
      )
  }
  </div>`;
}
