// The dashboard's side of the loopback API: same-origin requests authenticated by the session
// cookie (plus the session's CSRF token on state changes) and the live event stream.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, requestJson } from "../ui.js";

let csrf = "";
let onUnauthorized = () => {};

/** Remembers the session's CSRF token (from /auth/session or /login). */
export function setCsrf(token) {
  csrf = token ?? "";
}

/** Called when the session ended (expired, daemon restarted). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** One API call; ApiError on failure. */
export async function api(method, path, body) {
  const headers = method === "GET" ? {} : { "x-csrf-token": csrf };
  try {
    return await requestJson(path, { method, body, headers });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) onUnauthorized();
    throw err;
  }
}

/** GET. */
export const get = (path) => api("GET", path);
/** POST with a JSON body (`{}` when there is nothing to say). */
export const post = (path, body = {}) => api("POST", path, body);
/** PATCH with a JSON body. */
export const patch = (path, body) => api("PATCH", path, body);

/** `?a=1&b=2` from an object, skipping empty values. */
export function qs(params) {
  const entries = Object.entries(params).filter(([, v]) =>
    v !== undefined && v !== null && v !== ""
  );
  return entries.length ? "?" + new URLSearchParams(entries).toString() : "";
}

// ---------------------------------------------------------------------------------------------
// Live events (GET /v1/events, Server-Sent Events; the cookie goes along same-origin).

const EVENT_TYPES = [
  "inbox",
  "message_state",
  "task",
  "task_progress",
  "connection",
  "agent",
  "relay",
  "quarantine",
  "file",
];
const listeners = new Set();
let source = null;

function emit(type, data) {
  for (const l of listeners) l(type, data);
}

/** Opens the stream; `onStatus(live)` reports whether it is connected. */
export function startEvents(onStatus) {
  stopEvents();
  source = new EventSource("/v1/events");
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (e) => {
      let data = {};
      try {
        data = JSON.parse(e.data);
      } catch {
        // keep {}
      }
      emit(type, data);
    });
  }
  let wasDown = false;
  source.addEventListener("ready", () => {
    onStatus(true);
    // After a gap, reload everything: the stream resumes, but views may have missed state.
    if (wasDown) emit("resync", {});
    wasDown = false;
  });
  source.onerror = () => {
    wasDown = true;
    onStatus(false);
    if (source?.readyState === EventSource.CLOSED) {
      // The server refused the stream (e.g. 401): find out whether the session is gone.
      requestJson("/auth/session").then((s) => {
        if (!s.authenticated) onUnauthorized();
      }, () => {});
    }
  };
}

/** Closes the stream. */
export function stopEvents() {
  source?.close();
  source = null;
}

/** Subscribes to live events; returns the unsubscribe function. */
export function onEvent(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Loads `path` (GET) and loads it again, debounced, whenever a live event whose type is in
 * `types` (and that `filter` accepts, when given) arrives. Returns { data, error, reload }.
 */
export function useApi(path, types = [], filter) {
  const [state, setState] = useState({ data: undefined, error: null, path });
  const [tick, setTick] = useState(0);
  const filterRef = useRef(filter);
  filterRef.current = filter;
  useEffect(() => {
    if (!path) return;
    let live = true;
    get(path).then(
      (data) => live && setState({ data, error: null, path }),
      (error) =>
        live && setState((s) => ({ data: s.path === path ? s.data : undefined, error, path })),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  useEffect(() => {
    let timer = null;
    const off = onEvent((type, data) => {
      if (type !== "resync") {
        if (!types.includes(type)) return;
        if (filterRef.current && !filterRef.current(type, data)) return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => setTick((t) => t + 1), 60);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [path, types.join(",")]);
  const data = state.path === path ? state.data : undefined;
  return { data, error: state.error, reload: () => setTick((t) => t + 1) };
}

/** Runs an async action, tracking `busy` and the error to show. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}
