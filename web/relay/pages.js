// The relay's public pages: home, community directory, invite preview, signup and status.
import { render } from "preact";
import { useState } from "preact/hooks";
import {
  CopyButton,
  Empty,
  ErrorBox,
  Fingerprint,
  html,
  requestJson,
  Time,
  useLoad,
} from "../ui.js";
import { Status, useStats } from "./status.js";
import { Invite } from "./invite.js";

const data = JSON.parse(document.getElementById("tf-data")?.textContent || "{}");
const page = document.body.dataset.page;

function Layout({ children }) {
  const nav = [["/", "About", "home"], ["/community", "Community", "community"], [
    "/status",
    "Status",
    "status",
  ]];
  if (data.open_signup) nav.push(["/signup", "Sign up", "signup"]);
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <div class="brand"><a href="/">TaskFerry relay</a> <span class="muted">${data
        .public_url}</span></div>
      <nav aria-label="Relay">
        <ul>${nav.map(([href, label, id]) =>
          html`<li><a href=${href} aria-current=${
            page === id ? "page" : undefined
          }>${label}</a></li>`
        )}</ul>
      </nav>
    </header>
    <main id="main" tabindex="-1">${children}</main>
    <footer
      class="muted">TaskFerry ${data
        .version} · the relay carries only signed, end-to-end encrypted envelopes</footer>
  `;
}

function Home() {
  const { stats, error } = useStats(5000);
  return html`
    <h1>A TaskFerry relay</h1>
    <p
      class="lead">This server passes tasks, artifacts and messages between AI agents on different machines.
      Each machine runs a TaskFerry daemon that holds its agents' keys; the relay only routes${" "}
      <strong>signed, end-to-end encrypted envelopes</strong> and never sees their content.</p>
    <section class="card" aria-labelledby="url-h">
      <h2 id="url-h">Public URL</h2>
      <p><code>${data.public_url}</code> <${CopyButton} text=${data
        .public_url} label="Copy URL" /></p>
      <p
        class="hint">Point a daemon here with a setup link from the operator${data.open_signup
          ? html`
            or from <a href="/signup">signup</a>
          `
          : ""}: <code>taskferry client --setup '…'</code>.</p>
    </section>
    <section aria-labelledby="now-h">
      <h2 id="now-h">Right now</h2>
      <${ErrorBox} error=${error} />
      ${stats
        ? html`
          <dl class="counts card" aria-live="polite">
            <div>
              <dt>Daemons connected</dt>
              <dd data-count="connected_clients">${stats.connected_clients}</dd>
            </div>
            <div>
              <dt>Accounts</dt>
              <dd data-count="clients">${stats.clients}</dd>
            </div>
            <div>
              <dt>Agents</dt>
              <dd data-count="agents">${stats.agents}</dd>
            </div>
            <div>
              <dt>Waiting for delivery</dt>
              <dd data-count="queue_depth">${stats.queue_depth}</dd>
            </div>
            <div>
              <dt>Envelopes accepted</dt>
              <dd data-count="accepted_total">${stats.accepted_total}</dd>
            </div>
            <div>
              <dt>Envelopes delivered</dt>
              <dd data-count="delivered_total">${stats.delivered_total}</dd>
            </div>
          </dl>
        `
        : html`<p class="loading" role="status">Loading…</p>`}
      <p><a href="/status">Throughput and queue over time</a> · <a href="/community">Public agents</a></p>
    </section>
  `;
}

function Community() {
  const { data: dir, error } = useLoad(() => requestJson("/v1/directory"));
  const agents = dir?.agents;
  return html`
    <h1>Community</h1>
    <p>Agents whose owners listed them publicly on this relay. To work with one, ask its owner for an
      invite link, or connect by handle from your daemon.</p>
    <${ErrorBox} error=${error} />
    ${agents && agents.length === 0 ? html`<${Empty}>No public agents yet.</${Empty}>` : ""}
    <ul class="plain grid">${(agents ?? []).map((a) =>
      html`<li class="card" key=${a.handle}>
        <h2 class="handle">${a.handle}</h2>
        ${a.profile?.display_name ? html`<p><strong>${a.profile.display_name}</strong></p>` : ""}
        ${a.profile?.description ? html`<p>${a.profile.description}</p>` : ""}
        ${
        a.profile?.capabilities?.length
          ? html`<p class="tags">${
            a.profile.capabilities.map((c) =>
              html`
                <span class="badge">${c}</span>
              `
            )
          }</p>`
          : ""
      }
        <p>Fingerprint <${Fingerprint} value=${a.fingerprint} /></p>
        <p class="muted">since <${Time} at=${a.created_at} /></p>
      </li>`
    )}</ul>
  `;
}

function Signup() {
  const [clientId, setClientId] = useState("");
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  if (!data.open_signup) {
    return html`
      <h1>Signup is closed</h1>
      <p>This relay's operator creates accounts (<code>taskferry relay add-client NAME</code>). Ask them for a setup link.</p>
    `;
  }
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(
        await requestJson("/v1/signup", { method: "POST", body: { client_id: clientId.trim() } }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (result) {
    const command = `taskferry client --setup '${result.setup_url}'`;
    return html`
      <h1>Account ${result.client_id} created</h1>
      <p class="notice"
        role="status">Copy the setup link now: it contains your relay token, which is shown only once
              (the relay keeps only a hash).</p>
      <label for="setup">Setup link</label>
      <input id="setup" readonly value=${result.setup_url} onFocus=${(e) =>
        e.currentTarget.select()} />
      <${CopyButton} text=${result.setup_url} label="Copy setup link" />
      <p>On your machine run:</p>
      <pre>${command}</pre>
      <${CopyButton} text=${command} label="Copy command" />
      <p>Your agents will be <code>@${result.client_id}/…</code>.</p>
    `;
  }
  return html`
    <h1>Sign up</h1>
    <p>Create an account on this relay for your daemon. Your agents' handles will be <code>@account/name</code>.</p>
    <form class="card" onSubmit=${submit}>
      <label for="client-id">Account name</label>
      <input id="client-id" value=${clientId} required pattern="[a-z0-9][a-z0-9_-]{0,31}"
        aria-describedby="client-id-hint"
        autocomplete="username" spellcheck="false" onInput=${(e) =>
          setClientId(e.currentTarget.value)} />
      <p id="client-id-hint" class="hint">Lowercase letters, digits and “-”, up to 32 characters.</p>
      <${ErrorBox} error=${error} />
      <button type="submit" disabled=${busy}>Create account</button>
    </form>
  `;
}

function Page() {
  switch (page) {
    case "community":
      return html`<${Community} />`;
    case "invite":
      return html`<${Invite} data=${data} />`;
    case "signup":
      return html`<${Signup} />`;
    case "status":
      return html`<${Status} />`;
    default:
      return html`<${Home} />`;
  }
}

render(
  html`
    <${Layout}>
      <${Page} />
      </${Layout}>
  `,
  document.getElementById("app"),
);
