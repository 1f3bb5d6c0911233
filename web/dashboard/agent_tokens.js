// Agent tokens (design §14): what runtimes hold instead of the owner's token. The owner issues
// one per agent (shown once), sees when each was last used, and revokes it at once.
import { useState } from "preact/hooks";
import { CopyButton, Empty, ErrorBox, html, Time } from "../ui.js";
import { api, post, useAction, useApi } from "./api.js";

/** The new token, shown this once with a copy button. */
function Issued({ token, onDone }) {
  return html`
    <div class="card" role="status" aria-live="polite">
      <p>
        Agent token for <strong>${token.agent}</strong> — shown only now. Give it to the runtime
        (MCP server, worker, script) as <code>TASKFERRY_AGENT_TOKEN</code> or in a token file:
      </p>
      <p><code data-agent-token>${token.token}</code></p>
      <${CopyButton} text=${token.token} />
      <button type="button" class="link" onClick=${onDone}>Done</button>
    </div>
  `;
}

/** Agent tokens: list with created / last used and a revoke button; issue a new one. */
export function AgentTokens({ agents }) {
  const { data, error, reload } = useApi("/v1/tokens", ["agent"]);
  const action = useAction();
  const [agent, setAgent] = useState("");
  const [label, setLabel] = useState("");
  const [issued, setIssued] = useState(null);
  const chosen = agent || agents[0]?.handle || "";
  const issue = (e) => {
    e.preventDefault();
    action.run(async () => {
      const body = label.trim() ? { label: label.trim() } : {};
      const { token } = await post(`/v1/agents/${chosen}/tokens`, body);
      setIssued(token);
      setLabel("");
      reload();
    });
  };
  const revoke = (t) =>
    action.run(async () => {
      if (!confirm(`Revoke ${t.id} (${t.agent})? Whatever holds it stops working at once.`)) {
        return;
      }
      await api("DELETE", `/v1/tokens/${encodeURIComponent(t.id)}`);
      reload();
    });
  const tokens = data?.tokens ?? [];
  return html`
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">Agent tokens</h2>
      <p class="muted">
        A runtime with an agent token acts as that agent only: it never sees a task waiting for
        your approval, and cannot approve gates, change permissions or reach other agents.
      </p>
      <${ErrorBox} error=${error} />
      ${issued ? html`<${Issued} token=${issued} onDone=${() => setIssued(null)} />` : ""}
      ${data && tokens.length === 0 ? html`<${Empty}>No agent tokens yet.</${Empty}>` : ""}
      ${tokens.length
        ? html`
          <div class="table-wrap">
            <table class="stack" data-agent-tokens>
              <thead>
                <tr>
                  <th scope="col">Token</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>${tokens.map((t) =>
                html`
                  <tr key=${t.id}>
                    <td><code>${t.id}</code>${t.label
                      ? html`<br /><span class="muted">${t.label}</span>`
                      : ""}</td>
                    <td data-label="Agent">${t.agent}</td>
                    <td data-label="Created">
                      <${Time} at=${t.created_at} />
                    </td>
                    <td data-label="Last used">${t.last_used_at
                      ? html`<${Time} at=${t.last_used_at} />`
                      : html`<span class="muted">never</span>`}</td>
                    <td>
                      <button type="button" class="secondary" disabled=${action.busy}
                        onClick=${() => revoke(t)}>Revoke</button>
                    </td>
                  </tr>
                `
              )}</tbody>
            </table>
          </div>
        `
        : ""}
      ${agents.length
        ? html`
          <form class="inline" onSubmit=${issue}>
            <label for="token-agent">New token for</label>
            <select id="token-agent" value=${chosen}
              onChange=${(e) => setAgent(e.currentTarget.value)}>
              ${agents.map((a) => html`<option value=${a.handle}>${a.handle}</option>`)}
            </select>
            <label for="token-label">label</label>
            <input id="token-label" value=${label} maxlength="100" placeholder="claude code"
              onInput=${(e) => setLabel(e.currentTarget.value)} />
            <button type="submit" disabled=${action.busy}>Issue token</button>
          </form>
        `
        : ""}
      <${ErrorBox} error=${action.error} />
    </section>
  `;
}
