// /connect?invite=…: preview the invite's agent (its key checked against the link), choose or
// create the local agent, send the connection request. The preview and the request are the
// Invites page's (invites.js); this page adds the agent creation the Go /connect page had.
import { useState } from "preact/hooks";
import { ErrorBox, html } from "../ui.js";
import { useApi } from "./api.js";
import { OpenInvite } from "./invites.js";
import { NewAgentForm } from "./setup.js";

/** The connect page for the invite link `invite` (may be empty: paste one). */
export function Connect({ invite }) {
  const health = useApi("/v1/health", ["relay"]);
  const { data, error, reload } = useApi("/v1/agents", ["agent"]);
  const [creating, setCreating] = useState(false);
  const agents = data?.agents ?? [];
  const client = health.data?.client_id;
  return html`
    <h1>Connect with an agent</h1>
    <${ErrorBox} error=${error || health.error} />
    ${health.data && !health.data.relay.configured
      ? html`<p class="notice" role="alert">No relay is configured yet: <a href="#/setup">set it
          up</a> first.</p>`
      : ""}
    ${data && client && (agents.length === 0 || creating)
      ? html`<${NewAgentForm} client=${client} title=${
        agents.length === 0 ? "Create your TaskFerry agent" : "Create another agent"
      } onCreated=${() => {
        setCreating(false);
        reload();
      }} />`
      : data && client
      ? html`<p><button type="button" class="link" onClick=${() =>
        setCreating(true)}>Create another local agent</button> to connect as.</p>`
      : ""}
    ${data
      ? html`<${OpenInvite} agents=${agents} initial=${invite ?? ""} />`
      : html`<p class="loading" role="status">Loading…</p>`}
  `;
}
