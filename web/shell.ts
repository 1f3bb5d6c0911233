/**
 * The web assets both servers share (Preact, hooks, htm, the stylesheet), embedded with text
 * imports so the single-file program never reads them from disk, and the HTML shell that
 * loads a page's ES module through an import map under a strict Content-Security-Policy.
 */
import { createHash } from "node:crypto";
import preact from "./vendor/preact.js" with { type: "text" };
import hooks from "./vendor/hooks.js" with { type: "text" };
import htm from "./vendor/htm.js" with { type: "text" };
import ui from "./ui.js" with { type: "text" };
import charts from "./charts.js" with { type: "text" };
import css from "./app.css" with { type: "text" };

/** One embedded file. */
export interface Asset {
  type: string;
  body: string;
}

const JS = "text/javascript; charset=utf-8";

/** A JavaScript asset. */
export function js(body: string): Asset {
  return { type: JS, body };
}

/** Assets every page needs, by path under `/assets/`. */
export const SHARED_ASSETS: Readonly<Record<string, Asset>> = {
  "vendor/preact.js": js(preact),
  "vendor/hooks.js": js(hooks),
  "vendor/htm.js": js(htm),
  "ui.js": js(ui),
  "charts.js": js(charts),
  "app.css": { type: "text/css; charset=utf-8", body: css },
};

/** The import map: bare specifiers in the browser modules resolve to the embedded copies. */
export const IMPORT_MAP = JSON.stringify({
  imports: {
    "preact": "/assets/vendor/preact.js",
    "preact/hooks": "/assets/vendor/hooks.js",
    "htm": "/assets/vendor/htm.js",
  },
});

/** CSP source for the one inline script (the import map). */
const IMPORT_MAP_HASH = `'sha256-${createHash("sha256").update(IMPORT_MAP).digest("base64")}'`;

/** The Content-Security-Policy of every page: own scripts plus the import map, nothing else. */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src 'self' ${IMPORT_MAP_HASH}`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers for HTML pages. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": PAGE_CSP,
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/**
 * The asset at `path` (under `/assets/`), or undefined. Own keys only: the tables are plain
 * objects, so `constructor`, `toString` or `__proto__` would otherwise find Object's members.
 */
export function findAsset(
  assets: Readonly<Record<string, Asset>>,
  path: string,
): Asset | undefined {
  return Object.hasOwn(assets, path) ? assets[path] : undefined;
}

/** Headers for an embedded asset. */
export function assetHeaders(asset: Asset): Record<string, string> {
  return {
    "content-type": asset.type,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  };
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** HTML-escapes text for element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** JSON safe inside a `<script type="application/json">` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(
    /\u2028|\u2029/g,
    (c) => c === "\u2028" ? "\\u2028" : "\\u2029",
  );
}

/** The HTML shell of a page whose UI is the ES module `entry` (a path under `/assets/`). */
export function pageHtml(opts: {
  title: string;
  entry: string;
  page?: string;
  data?: unknown;
  noscript?: string;
}): string {
  const data = opts.data === undefined
    ? ""
    : `\n<script type="application/json" id="tf-data">${scriptJson(opts.data)}</script>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(opts.title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/assets/${escapeHtml(opts.entry)}"></script>
</head>
<body data-page="${escapeHtml(opts.page ?? "")}">
<noscript><p class="noscript">${
    escapeHtml(opts.noscript ?? "This page needs JavaScript (no third-party scripts are loaded).")
  }</p></noscript>
<div id="app"></div>${data}
</body>
</html>
`;
}
