// Shared browser helpers for the dashboard and the relay pages: htm bound to Preact, JSON
// requests with catalogue errors, and small presentational components.
import { h } from "preact";
import { useEffect, useState } from "preact/hooks";
import htm from "htm";

/** Tagged template → Preact vnodes. */
export const html = htm.bind(h);

/** An API error with its catalogue code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** JSON request; throws ApiError with the server's `{ error: { code, message } }`. */
export async function requestJson(path, { method = "GET", body, headers = {} } = {}) {
  const init = {
    method,
    credentials: "same-origin",
    headers: { accept: "application/json", ...headers },
  };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "unavailable", `cannot reach the server: ${err.message}`);
  }
  const text = await res.text();
  let json = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(res.status, "internal", `the server answered non-JSON (HTTP ${res.status})`);
  }
  if (!res.ok) {
    const e = json.error ?? {};
    throw new ApiError(res.status, e.code ?? "internal", e.message ?? `HTTP ${res.status}`);
  }
  return json;
}

/** Shows an error's catalogue code and message. */
export function ErrorBox({ error }) {
  if (!error) return null;
  const code = error.code ?? "error";
  return html`<p class="error" role="alert"><strong>${code}</strong>: ${
    error.message ?? String(error)
  }</p>`;
}

/** A state badge (delivery states, task states, connection states). */
export function Badge({ state, label }) {
  if (!state) return null;
  return html`<span class=${`badge badge-${String(state).replaceAll("_", "-")}`}>${
    label ?? String(state).replaceAll("_", " ")
  }</span>`;
}

/** A clear empty state. */
export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** A key fingerprint, grouped for reading aloud. */
export function Fingerprint({ value }) {
  if (!value) return html`<span class="muted">no fingerprint</span>`;
  return html`<code class="fp" title="key fingerprint">${value}</code>`;
}

const FINGERPRINT = /^[0-9a-f]{4}(?:-[0-9a-f]{4}){7}$/;

/**
 * The key fingerprint an invite link (or a page address's `#fp=…`) carries, or null when it
 * carries none, an empty one or a malformed one. Only this value is ever shown as "from the
 * link": a fingerprint the relay reports is never put in its place.
 */
export function linkFingerprint(link) {
  const m = /[#?&]fp=([^&#]*)/.exec(String(link ?? ""));
  if (!m) return null;
  let value;
  try {
    value = decodeURIComponent(m[1]).trim().toLowerCase();
  } catch {
    return null;
  }
  return FINGERPRINT.test(value) ? value : null;
}

/** Local date and time of an ISO timestamp. */
export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

/** A `<time>` element. */
export function Time({ at }) {
  if (!at) return null;
  return html`<time datetime=${at} title=${at}>${formatTime(at)}</time>`;
}

/** Copies `text` to the clipboard, with a fallback for browsers that refuse. */
export function CopyButton({ text, label = "Copy" }) {
  const [done, setDone] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("Copied");
    } catch {
      setDone("Select the text and copy it");
    }
  };
  useEffect(() => {
    if (!done) return;
    const t = setTimeout(() => setDone(""), 2500);
    return () => clearTimeout(t);
  }, [done]);
  return html`
    <button type="button" class="secondary" onClick=${copy}>${label}</button>
    <span class="muted" role="status">${done}</span>
  `;
}

/** Runs `load` now and whenever `deps` change; returns { data, error, reload }. */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: undefined, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState((s) => ({ data: s.data, error })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}
