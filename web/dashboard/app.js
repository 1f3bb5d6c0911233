// The daemon dashboard: session check, login, navigation and the live event stream.
import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Badge, ErrorBox, html, requestJson } from "../ui.js";
import { post, setCsrf, setUnauthorizedHandler, startEvents, stopEvents, useApi } from "./api.js";
import { Login } from "./login.js";
import { Overview } from "./overview.js";
import { Connections } from "./connections.js";
import { Tasks } from "./tasks.js";
import { TaskPage } from "./task.js";
import { Conversations } from "./conversations.js";
import { Invites } from "./invites.js";
import { Audit } from "./audit.js";
import { Activity } from "./activity.js";
import { Setup } from "./setup.js";
import { Connect } from "./connect.js";

/** A hash route: `#/tasks/ID?state=x` → { path: "/tasks/ID", query }. */
function parseHash(hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const i = raw.indexOf("?");
  const path = (i < 0 ? raw : raw.slice(0, i)) || "/";
  const query = Object.fromEntries(new URLSearchParams(i < 0 ? "" : raw.slice(i + 1)));
  return { path, query };
}

function useRoute() {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    // The hash may have changed between the first render and this subscription (a link
    // followed while the page loaded): read it again, or that change is never seen.
    on();
    return () => removeEventListener("hashchange", on);
  }, []);
  return useMemo(() => parseHash(hash), [hash]);
}

const NAV = [
  ["/", "Overview", null],
  ["/connections", "Connections", "pending_connections"],
  ["/tasks", "Tasks", "gated_tasks"],
  ["/conversations", "Conversations", null],
  ["/invites", "Invites", null],
  ["/activity", "Activity", null],
  ["/audit", "Audit", null],
];

function section(path) {
  const first = "/" + (path.split("/")[1] ?? "");
  return NAV.some(([p]) => p === first) ? first : "/";
}

function View({ route }) {
  const { path, query } = route;
  const task = /^\/tasks\/([A-Za-z0-9_]+)$/.exec(path);
  if (task) return html`<${TaskPage} id=${task[1]} />`;
  switch (path) {
    case "/":
    case "/login":
      return html`<${Overview} />`;
    case "/connections":
      return html`<${Connections} />`;
    case "/tasks":
      return html`<${Tasks} state=${query.state ?? ""} />`;
    case "/conversations":
      return html`<${Conversations} agent=${query.agent} peer=${query.peer} />`;
    case "/invites":
      return html`<${Invites} open=${query.open ?? ""} />`;
    case "/activity":
      return html`<${Activity} />`;
    case "/audit":
      return html`<${Audit} task=${query.task ?? ""} />`;
    case "/setup": // the daemon's GET /setup lands here (lib/client/setup_routes.ts)
      return html`<${Setup} error=${query.error ?? ""} />`;
    case "/connect": // GET /connect?invite=… lands here
      return html`<${Connect} invite=${query.invite ?? ""} />`;
    default:
      return html`
        <h1>Not found</h1>
        <p>No page at <code>${path}</code>. <a href="#/">Overview</a></p>
      `;
  }
}

function Shell({ onLogout }) {
  const route = useRoute();
  const [live, setLive] = useState(false);
  const health = useApi("/v1/health", [
    "relay",
    "connection",
    "task",
    "quarantine",
    "agent",
    "message_state",
  ]);
  const main = useRef(null);
  const first = useRef(true);
  useEffect(() => {
    startEvents(setLive);
    return stopEvents;
  }, []);
  useEffect(() => {
    // Move focus to the new view for keyboard and screen-reader users (not on first load).
    if (first.current) first.current = false;
    else main.current?.focus();
  }, [route.path]);
  const h = health.data;
  const counts = h?.counts ?? {};
  const current = section(route.path);
  return html`
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      main.current?.focus();
    }}>Skip to content</a>
    <header class="top">
      <div class="brand"><a href="#/">TaskFerry</a> <span class="muted">${h
        ? h.client_id
        : ""}</span></div>
      <div class="status" aria-live="polite">
        <span class=${`dot ${h?.relay.connected ? "ok" : "bad"}`} aria-hidden="true"></span>
        ${h
          ? (h.relay.connected
            ? "relay connected"
            : `relay ${h.relay.configured ? "disconnected" : "not configured"}`)
          : "…"}
        <span class="sep" aria-hidden="true">·</span>
        <span data-live=${live ? "yes" : "no"}>${live ? "live" : "reconnecting…"}</span>
        <button type="button" class="link" onClick=${onLogout}>Log out</button>
      </div>
      <nav aria-label="Dashboard">
        <ul>
          ${NAV.map(([path, label, count]) =>
            html`<li><a href=${"#" + path} aria-current=${
              current === path ? "page" : undefined
            }>${label}${
              count && counts[count]
                ? html`
                  <${Badge} state="attention" label=${String(counts[count])} />
                `
                : ""
            }</a></li>`
          )}
        </ul>
      </nav>
    </header>
    <main id="main" tabindex="-1" ref=${main}>
      <${ErrorBox} error=${health.error} />
      <${View} route=${route} />
    </main>
  `;
}

function App() {
  const [session, setSession] = useState(null);
  const [error, setError] = useState(null);
  const check = () =>
    requestJson("/auth/session").then((s) => {
      setCsrf(s.csrf_token);
      setSession(s);
    }, setError);
  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrf("");
      setSession({ authenticated: false, expired: true });
    });
    check();
  }, []);
  if (error) {
    return html`
      <main class="narrow">
        <${ErrorBox} error=${error} />
      </main>
    `;
  }
  if (!session) return html`<p class="loading" role="status">Loading…</p>`;
  if (!session.authenticated) {
    return html`<${Login} expired=${session.expired} onLogin=${(s) => {
      setCsrf(s.csrf_token);
      setSession(s);
      if (location.hash.startsWith("#/login")) location.hash = "#/";
    }} />`;
  }
  const logout = async () => {
    await post("/logout").catch(() => {});
    stopEvents();
    setCsrf("");
    setSession({ authenticated: false });
  };
  return html`<${Shell} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById("app"));
