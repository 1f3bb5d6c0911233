// /setup: save a setup link's relay credentials (POST /setup; the daemon uses them from its next
// start), then create the first agent. The relay token is sent once and never shown back.
import { useState } from "preact/hooks";
import { ErrorBox, html } from "../ui.js";
import { post, useAction, useApi } from "./api.js";

/** Creates a local agent `@<client>/<name>` (display name, description, public). */
export function NewAgentForm({ client, title, onCreated }) {
  const [name, setName] = useState("agent");
  const [displayName, setDisplayName] = useState("");
  const [description, setDescription] = useState("");
  const [isPublic, setPublic] = useState(false);
  const action = useAction();
  const create = (e) => {
    e.preventDefault();
    action.run(async () => {
      const body = { handle: `@${client}/${name.trim()}`, public: isPublic };
      if (displayName.trim()) body.display_name = displayName.trim();
      if (description.trim()) body.description = description.trim();
      const { agent } = await post("/v1/agents", body);
      onCreated?.(agent);
    });
  };
  return html`
    <form class="card" onSubmit=${create} aria-label=${title}>
      <h2>${title}</h2>
      <label for="agent-name">Handle <span class="muted">@${client}/</span></label>
      <input id="agent-name" value=${name} onInput=${(e) => setName(e.currentTarget.value)}
        required spellcheck="false" />
      <label for="agent-display">Display name (optional)</label>
      <input id="agent-display" value=${displayName} maxlength="100"
        onInput=${(e) => setDisplayName(e.currentTarget.value)} />
      <label for="agent-description">What it does (optional)</label>
      <input id="agent-description" value=${description} maxlength="2000"
        onInput=${(e) => setDescription(e.currentTarget.value)} />
      <div class="check"><input type="checkbox" id="agent-public" checked=${isPublic}
          onChange=${(e) => setPublic(e.currentTarget.checked)} />
          <label for="agent-public">List it in the relay's public directory</label></div>
      <button type="submit" disabled=${action.busy}>Create agent</button>
      <${ErrorBox} error=${action.error} />
    </form>
  `;
}

function SaveLink({ onSaved }) {
  const [link, setLink] = useState("");
  const action = useAction();
  const save = (e) => {
    e.preventDefault();
    action.run(async () => {
      onSaved(await post("/setup", { link: link.trim() }));
      setLink(""); // the token leaves the page as soon as it is saved
    });
  };
  return html`
    <form class="card" onSubmit=${save} aria-labelledby="link-h">
      <h2 id="link-h">Relay credentials</h2>
      <label for="setup-link">Setup link from your relay</label>
      <input id="setup-link" type="password" value=${link} required autocomplete="off"
        spellcheck="false" placeholder="taskferry://relay.example.com/setup#…"
        onInput=${(e) => setLink(e.currentTarget.value)} />
      <p class="hint">It holds your relay token: paste it here, not in a browser address bar.
          Links of the Go TaskFerry (…/setup?client_id=…&relay_token=…) work too.</p>
      <button type="submit" disabled=${action.busy}>Save relay credentials</button>
      <${ErrorBox} error=${action.error} />
    </form>
  `;
}

/** The setup page; `error=token_in_url` when the address carried a token. */
export function Setup({ error }) {
  const health = useApi("/v1/health", ["relay", "agent"]);
  const agents = useApi("/v1/agents", ["agent"]);
  const [saved, setSaved] = useState(null);
  const [created, setCreated] = useState(null);
  const h = health.data;
  const list = agents.data?.agents ?? [];
  return html`
    <h1>Set up this local TaskFerry</h1>
    ${error === "token_in_url"
      ? html`<p class="notice" role="alert">That address carried a relay token, which was not
          used: addresses are kept in browser history. Paste the setup link below instead.</p>`
      : ""}
    <${ErrorBox} error=${health.error || agents.error} />
    ${h
      ? html`<p data-relay=${
        h.relay.connected ? "connected" : "not-connected"
      }>Client${" "}<strong>${h.client_id}</strong> · relay ${
        h.relay.configured
          ? html`<code>${h.relay.url}</code> (${h.relay.connected ? "connected" : "not connected"})`
          : "not configured"
      }</p>`
      : ""}
    <${SaveLink} onSaved=${setSaved} />
    ${saved
      ? html`
        <p class="notice" role="status"
          data-saved="yes">Saved relay credentials for${" "}<strong>${saved
            .client_id}</strong> (${saved.relay_url}). ${saved.message}</p>
      `
      : ""}
    ${h && agents.data
      ? (list.length === 0 && !created
        ? html`
          <${NewAgentForm} client=${h.client_id} title="Create your first agent"
            onCreated=${(a) => {
              setCreated(a);
              agents.reload();
            }} />
        `
        : html`<p>Your agents: ${
          list.map((a) => a.handle).join(", ")
        }.${" "}<a href="#/">Overview</a> · <a href="#/invites">Invites</a></p>`)
      : ""}
    ${created
      ? html`
        <p class="notice" role="status"
          data-created=${created.handle}>Created${" "}<strong>${created
            .handle}</strong>. Invite someone from <a href="#/invites">Invites</a>.</p>
      `
      : ""}
  `;
}
