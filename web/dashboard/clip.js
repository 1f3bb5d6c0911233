// Peer content, bounded: texts, artifacts and JSON data a peer sent are shown clipped, with a
// "Show all" button, so one huge or deeply nested message cannot freeze or break the page.
// A clipped preview costs O(limit) however large the input; "Show all" is the owner's choice.
import { useState } from "preact/hooks";
import { html } from "../ui.js";

/** Characters and lines shown before "Show all". */
export const CLIP_CHARS = 4_000;
export const CLIP_LINES = 40;
/** Nesting levels a JSON preview descends before it writes "…". */
export const CLIP_DEPTH = 6;

/** `text` cut at `chars` characters or `lines` lines; `{ text, clipped, lines }`. */
export function clipText(text, chars = CLIP_CHARS, lines = CLIP_LINES) {
  const s = String(text ?? "");
  let cut = Math.min(s.length, chars);
  let seen = 0;
  for (let i = s.indexOf("\n"); i !== -1 && i < cut; i = s.indexOf("\n", i + 1)) {
    if (++seen === lines) {
      cut = i;
      break;
    }
  }
  return { text: s.slice(0, cut), clipped: cut < s.length, total: s.length };
}

/**
 * A pretty JSON preview that stops at `depth` levels and about `chars` characters (no
 * recursion beyond `depth`, so a 100,000-deep value costs no more than a shallow one).
 */
export function previewJson(value, depth = CLIP_DEPTH, chars = CLIP_CHARS) {
  let out = "";
  let clipped = false;
  const put = (s) => {
    if (out.length >= chars) clipped = true;
    else out += s;
  };
  const walk = (v, level, indent) => {
    if (out.length >= chars) return void (clipped = true);
    if (v === null || typeof v !== "object") return put(JSON.stringify(v) ?? "null");
    const isArray = Array.isArray(v);
    const keys = isArray ? null : Object.keys(v);
    const size = isArray ? v.length : keys.length;
    if (size === 0) return put(isArray ? "[]" : "{}");
    if (level >= depth) {
      clipped = true;
      return put(isArray ? "[…]" : "{…}");
    }
    put(isArray ? "[" : "{");
    const inner = indent + "  ";
    for (let i = 0; i < size && out.length < chars; i++) {
      put(`${i ? "," : ""}\n${inner}`);
      if (!isArray) put(`${JSON.stringify(keys[i])}: `);
      walk(isArray ? v[i] : v[keys[i]], level + 1, inner);
    }
    if (out.length >= chars) return void (clipped = true);
    put(`\n${indent}${isArray ? "]" : "}"}`);
  };
  walk(value, 0, "");
  return { text: out, clipped };
}

/** The full JSON of `value` (compact: indentation would grow with the square of the depth). */
function fullJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return "(too deeply nested to show here; read it through the API or the CLI)";
  }
}

function sizeLabel(chars) {
  return chars >= 1024 * 1024
    ? `${(chars / 1024 / 1024).toFixed(1)} M characters`
    : chars >= 1024
    ? `${Math.round(chars / 1024)} k characters`
    : `${chars} characters`;
}

/** `<pre>` of a long text, clipped until "Show all". */
export function ClippedText({ text, chars = CLIP_CHARS, lines = CLIP_LINES, cls = "" }) {
  const [all, setAll] = useState(false);
  const clip = clipText(text, chars, lines);
  if (all || !clip.clipped) return html`<pre class=${cls}>${text}</pre>`;
  return html`
    <div class="clipped">
      <pre class=${cls}>${clip.text}…</pre>
      <button type="button" class="secondary" onClick=${() => setAll(true)}>Show all (${sizeLabel(
        clip.total,
      )})</button>
    </div>
  `;
}

/** Plain text in a paragraph, clipped until "Show all". */
export function ClippedLine({ text, chars = 600 }) {
  const [all, setAll] = useState(false);
  const clip = clipText(text, chars, 12);
  if (all || !clip.clipped) return html`<p class="prose-text">${text}</p>`;
  return html`<p class="prose-text clipped">${clip.text}… <button type="button" class="link"
    onClick=${() => setAll(true)}>Show all (${sizeLabel(clip.total)})</button></p>`;
}

/** JSON data, previewed to a few levels until "Show all". */
export function ClippedJson({ value }) {
  const [all, setAll] = useState(false);
  if (all) return html`<pre>${fullJson(value)}</pre>`;
  const p = previewJson(value);
  if (!p.clipped) return html`<pre>${p.text}</pre>`;
  return html`
    <div class="clipped">
      <pre>${p.text}</pre>
      <button type="button" class="secondary" onClick=${() => setAll(true)}>Show all</button>
    </div>
  `;
}

/** Cuts a one-line label (titles, previews) to `chars` characters. */
export function shortText(text, chars = 200) {
  const s = String(text ?? "");
  return s.length > chars ? s.slice(0, chars) + "…" : s;
}
