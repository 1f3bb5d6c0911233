// Overview: relay connection, counts, local agents with fingerprints, recent activity.
import { useState } from "preact/hooks";
import { Badge, Empty, ErrorBox, Fingerprint, html, Time } from "../ui.js";
import { post, useAction, useApi } from "./api.js";
import { AgentTokens } from "./agent_tokens.js";

const COUNTS = [
  ["agents", "Local agents", "#/"],
  ["connections", "Connections", "#/connections"],
  ["pending_connections", "Requests waiting", "#/connections"],
  ["open_tasks", "Open tasks", "#/tasks"],
  ["gated_tasks", "Tasks awaiting approval", "#/tasks"],
  ["quarantined", "Key warnings", "#/connections"],
  ["outbox_pending", "Outbox (not yet at the relay)", "#/"],
];

/** Where a message belongs in the dashboard. */
export function messageLink(m) {
  if (m.task_id) return `#/tasks/${m.task_id}`;
  const peer = m.direction === "in" ? m.from : m.to[0];
  if (m.type === "message") {
    return `#/conversations?agent=${encodeURIComponent(m.agent)}&peer=${encodeURIComponent(peer)}`;
  }
  if (m.type.startsWith("connection_")) return "#/connections";
  return null;
}

function Activity() {
  const { data, error } = useApi("/v1/messages?limit=20", ["inbox", "message_state", "task"]);
  const items = data ? [...data.messages].reverse() : null;
  return html`
    <section aria-labelledby="activity-h">
      <h2 id="activity-h">Recent activity</h2>
      <${ErrorBox} error=${error} />
      ${items && items.length === 0
        ? html`<${Empty}>Nothing sent or received yet. Create an invite or open one to connect.</${Empty}>`
        : ""}
      ${items?.length
        ? html`<ul class="activity">
        ${
          items.map((m) => {
            const link = messageLink(m);
            const what = html`<strong>${m.type.replaceAll("_", " ")}</strong>`;
            return html`<li>
            <${Time} at=${m.created_at} />
            ${link ? html`<a href=${link}>${what}</a>` : what}
            <span>${m.from} → ${m.to.join(", ")}</span>
            <${Badge} state=${m.state} />
          </li>`;
          })
        }
      </ul>`
        : ""}
    </section>
  `;
}

/**
 * Rotate an agent's keys (after a lost device): a second click confirms. Peers then see the
 * agent's next envelope as a key change and accept the new fingerprint themselves.
 */
function RotateKey({ agent, onDone }) {
  const [armed, setArmed] = useState(false);
  const action = useAction();
  const rotate = () =>
    armed
      ? action.run(async () => {
        await post(
          `/v1/agents/${agent.handle.split("/").map(encodeURIComponent).join("/")}/rotate-key`,
        );
        setArmed(false);
        onDone();
      })
      : setArmed(true);
  return html`
    <button type="button" class=${armed ? "danger" : "secondary"} disabled=${action.busy}
      aria-label=${`Rotate the keys of ${agent.handle}`} onClick=${rotate}>${armed
        ? "Really rotate? Peers must accept the new key"
        : "Rotate key"}</button>
    <${ErrorBox} error=${action.error} />
  `;
}

function Agents() {
  const { data, error, reload } = useApi("/v1/agents", ["agent"]);
  const health = useApi("/v1/health", []);
  const action = useAction();
  const [name, setName] = useState("");
  const client = health.data?.client_id;
  const create = (e) => {
    e.preventDefault();
    action.run(async () => {
      await post("/v1/agents", { handle: `@${client}/${name.trim()}` });
      setName("");
      reload();
    });
  };
  return html`
    <section aria-labelledby="agents-h">
      <h2 id="agents-h">Local agents</h2>
      <${ErrorBox} error=${error} />
      ${data?.agents.length === 0
        ? html`<${Empty}>No agents yet. Create one below.</${Empty}>`
        : ""}
      ${data?.agents.length
        ? html`
          <div class="table-wrap">
            <table class="stack">
              <thead>
                <tr>
                  <th scope="col">Handle</th>
                  <th scope="col">Key fingerprint</th>
                  <th scope="col">Directory</th>
                  <th scope="col">Relay</th>
                </tr>
              </thead>
              <tbody>${data.agents.map((a) =>
                html`
                  <tr>
                    <td><strong>${a.handle}</strong>${a.display_name
                      ? html`<br /><span class="muted">${a.display_name}</span>`
                      : ""}</td>
                    <td data-label="Key fingerprint">
                      <${Fingerprint} value=${a.fingerprint} />
                      <${RotateKey} agent=${a} onDone=${reload} />
                    </td>
                    <td data-label="Directory">${a.public ? "public" : "private"}</td>
                    <td data-label="Relay">
                      <${Badge} state=${a.registered ? "registered" : "pending"} />
                    </td>
                  </tr>
                `
              )}</tbody>
            </table>
          </div>
        `
        : ""}
      ${client
        ? html`
          <form class="inline" onSubmit=${create}>
            <label for="new-agent">New agent <span class="muted">@${client}/</span></label>
            <input id="new-agent" value=${name} onInput=${(e) => setName(e.currentTarget.value)}
              pattern="[a-z0-9][a-z0-9_-]{0,31}" required placeholder="writer" />
            <button type="submit" disabled=${action.busy}>Create agent</button>
          </form>
        `
        : ""}
      <${ErrorBox} error=${action.error} />
    </section>
    ${data ? html`<${AgentTokens} agents=${data.agents} />` : ""}
  `;
}

/**
 * Deliveries the daemon keeps failing to store for a transient reason (database locked or
 * full, relay unreachable while pinning a key): shown so they never loop unseen.
 */
function Stuck({ items }) {
  if (items.length === 0) return "";
  return html`
    <section class="card" aria-label="Stuck deliveries">
      <h2>Stuck deliveries <${Badge} state="attention" label=${String(items.length)} /></h2>
      <p class="muted">Retried with backoff; everything else from your peers still arrives.</p>
      <ul>
        ${items.map((s) =>
          html`
            <li key=${s.id}><code>${s.id}</code> · ${s.attempts} attempts · since <${Time}
              at=${s.first_at} /> · <span class="muted">${s.last_error}</span></li>
          `
        )}
      </ul>
    </section>
  `;
}

/** The overview page. */
export function Overview() {
  const { data } = useApi("/v1/health", [
    "relay",
    "connection",
    "task",
    "quarantine",
    "agent",
    "message_state",
  ]);
  return html`
    <h1>Overview</h1>
    <section class="cards" aria-label="Status">
      <div class="card">
        <h2>Relay</h2>
        ${data
          ? html`
            <p class="meta"><${Badge} state=${data.relay.connected
              ? "connected"
              : "disconnected"} />
                      ${data.relay.url
                        ? html`
                          <code>${data.relay.url}</code>
                        `
                        : " no relay configured"}</p>
                      ${data.relay.error ? html`<p class="muted">${data.relay.error}</p>` : ""}
                      ${data.relay.retrying === false
                        ? html`
                          <p>
                            <${Badge} state="attention" label="stopped retrying" />
                          </p>
                        `
                        : ""}
                      <p
              class="muted">client <code>${data.client_id}</code> · device <code>${data
                .device_id}</code> · v${data.version}</p>
          `
          : html`<p class="muted">Loading…</p>`}
      </div>
      ${data
        ? html`<dl class="counts card">${
          COUNTS.map(([key, label, href]) =>
            html`
              <div>
                <dt><a href=${href}>${label}</a></dt>
                <dd data-count=${key}>${data.counts[key] ?? 0}</dd>
              </div>
            `
          )
        }</dl>`
        : ""}
    </section>
    <${Stuck} items=${data?.inbound?.stuck ?? []} />
    <${Agents} />
    <${Activity} />
  `;
}
