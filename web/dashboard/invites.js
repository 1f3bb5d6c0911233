// Invites: create a link for a local agent; open someone's link, check the peer and its key
// fingerprint, then send the connection request. The fingerprint that verifies the key is the
// one IN THE LINK (the inviter's); the one the daemon reports is what the relay serves. Only a
// non-empty link fingerprint equal to the served key is shown as verified; otherwise the owner
// must compare out of band and say so before the request can be sent.
import { useEffect, useState } from "preact/hooks";
import { CopyButton, Empty, ErrorBox, Fingerprint, html, linkFingerprint, Time } from "../ui.js";
import { post, useAction, useApi } from "./api.js";

function AgentSelect({ id, agents, value, onChange, label }) {
  return html`
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)} required>
          ${agents.map((a) => html`<option value=${a.handle}>${a.handle}</option>`)}
        </select>
  `;
}

function CreateInvite({ agents }) {
  const [agent, setAgent] = useState(agents[0]?.handle ?? "");
  const [invite, setInvite] = useState(null);
  const action = useAction();
  useEffect(() => {
    if (!agent && agents[0]) setAgent(agents[0].handle);
  }, [agents.length]);
  const create = (e) => {
    e.preventDefault();
    action.run(async () => setInvite((await post("/v1/invites", { agent })).invite));
  };
  return html`<section class="card" aria-labelledby="create-h">
    <h2 id="create-h">Invite someone to one of your agents</h2>
    ${
    agents.length === 0 ? html`<${Empty}>Create a local agent first (Overview).</${Empty}>` : html`
      <form class="inline" onSubmit=${create}>
        <${AgentSelect} id="invite-agent" agents=${agents} value=${agent} onChange=${setAgent}
          label="Agent" />
        <button type="submit" disabled=${action.busy}>Create invite link</button>
      </form>
    `
  }
    <${ErrorBox} error=${action.error} />
    ${
    invite
      ? html`
        <div class="result">
          <label for="invite-link">Invite link for ${invite.agent}</label>
          <input id="invite-link" readonly value=${invite.url} onFocus=${(e) =>
            e.currentTarget.select()} />
          <${CopyButton} text=${invite.url} label="Copy link" />
          <p>Fingerprint <${Fingerprint} value=${invite
            .fingerprint} /> · expires <${Time} at=${invite.expires_at} /></p>
          <p class="hint">Send it over a channel you trust. The fingerprint in the link lets the other owner
                check that the relay serves the right key.</p>
        </div>
      `
      : ""
  }
  </section>`;
}

/** Where the link (and so its fingerprint) came from, in plain words. */
function sourceText(source, has) {
  const where = source === "relay-page"
    ? "the link a relay invite page passed here (from that page's address)"
    : "the link you pasted";
  return has
    ? `from ${where}; it is the inviter's only if that reached you from them`
    : `${where} has no #fp=…`;
}

/** The key check: the link's fingerprint next to the served one, and the verdict. */
function KeyCheck({ linkFp, served, source }) {
  const verified = linkFp !== null && linkFp === served;
  return html`<div class=${`fp-check ${verified ? "" : "warning"}`} data-verified=${
    verified ? "link" : "no"
  }>
    <dl>
      <dt>Fingerprint in the link</dt>
      <dd>${
    linkFp ? html`<${Fingerprint} value=${linkFp} />` : html`<strong class="warn">none</strong>`
  } <span class="muted">— ${sourceText(source, linkFp !== null)}</span></dd>
      <dt>Key the relay serves</dt>
      <dd><${Fingerprint} value=${served} /></dd>
    </dl>
    ${
    verified
      ? html`<p><span class="ok">✓ matches the link</span> <span class="muted">— the check is as good
          as the link; to be sure of the link, read the fingerprint to the owner.</span></p>`
      : html`<p role="alert"><strong>Not verified</strong>: the link carries no fingerprint, so only
          the relay vouches for this key. Read the served fingerprint to the owner over a channel
          you trust (phone, in person) before connecting.</p>`
  }
  </div>`;
}

/** Opens an invite link: preview, key check, then the connection request (also on /connect). */
export function OpenInvite({ agents, initial }) {
  const [link, setLink] = useState(initial);
  const [source, setSource] = useState(initial ? "relay-page" : "pasted");
  const [preview, setPreview] = useState(null);
  const [from, setFrom] = useState(agents[0]?.handle ?? "");
  const [note, setNote] = useState("");
  const [compared, setCompared] = useState(false);
  const [sent, setSent] = useState(null);
  const action = useAction();
  useEffect(() => {
    setLink(initial);
    setSource(initial ? "relay-page" : "pasted");
    setPreview(null);
    setSent(null);
  }, [initial]);
  useEffect(() => {
    if (!from && agents[0]) setFrom(agents[0].handle);
  }, [agents.length]);
  const linkFp = linkFingerprint(link);
  const verified = preview !== null && linkFp !== null && linkFp === preview.fingerprint;
  const open = (e) => {
    e.preventDefault();
    setSent(null);
    setCompared(false);
    action.run(async () =>
      setPreview((await post("/v1/invites/open", { invite: link.trim() })).invite)
    );
  };
  const connect = (e) => {
    e.preventDefault();
    if (!verified && !compared) return;
    action.run(async () => {
      const body = { from, invite: link.trim(), ...(note.trim() ? { note: note.trim() } : {}) };
      setSent((await post("/v1/connections", body)).connection);
    });
  };
  return html`<section class="card" aria-labelledby="open-h">
    <h2 id="open-h">Open an invite link</h2>
    <form onSubmit=${open}>
      <label for="open-link">Invite link</label>
      <input id="open-link" value=${link} required placeholder="taskferry://relay.example.com/invite/…#fp=…"
        spellcheck="false" onInput=${(e) => {
    setLink(e.currentTarget.value);
    setSource("pasted");
    setPreview(null);
  }} />
      <button type="submit" disabled=${action.busy}>Show who it is</button>
    </form>
    <${ErrorBox} error=${action.error} />
    ${
    preview
      ? html`<div class="result" aria-live="polite">
      <p><strong class="peer">${preview.agent}</strong>${
        preview.profile?.display_name
          ? html`
            — ${preview.profile.display_name}
          `
          : ""
      }</p>
      ${preview.profile?.description ? html`<p>${preview.profile.description}</p>` : ""}
      <${KeyCheck} linkFp=${linkFp} served=${preview.fingerprint} source=${source} />
      <p class="muted">Invite expires <${Time} at=${preview.expires_at} /></p>
      ${
        sent
          ? html`<p class="notice" role="status">Request sent from ${sent.agent} to ${sent.peer}: ${
            sent.state === "connected" ? "already connected." : "waiting for their owner to accept."
          }</p>`
          : agents.length === 0
          ? html`<${Empty}>Create a local agent first (Overview).</${Empty}>`
          : html`
            <form onSubmit=${connect}>
              <${AgentSelect} id="connect-from" agents=${agents} value=${from} onChange=${setFrom}
                label="Connect as" />
              <label for="connect-note">Note to their owner (optional)</label>
              <input id="connect-note" value=${note} onInput=${(e) =>
                setNote(e.currentTarget.value)} />
              ${verified ? "" : html`<div class="check"><input type="checkbox" id="fp-compared"
                  checked=${compared} onChange=${(e) => setCompared(e.currentTarget.checked)} />
                  <label for="fp-compared">I compared the fingerprint with the owner</label></div>`}
              <button type="submit" disabled=${action.busy ||
                (!verified && !compared)}>Send connection request</button>
            </form>
          `
      }
    </div>`
      : ""
  }
  </section>`;
}

/** The invites page; `open` prefills the link (from a relay's invite page). */
export function Invites({ open }) {
  const { data, error } = useApi("/v1/agents", ["agent"]);
  const agents = data?.agents ?? [];
  return html`
    <h1>Invites</h1>
    <${ErrorBox} error=${error} />
    ${data
      ? html`
        <${OpenInvite} agents=${agents} initial=${open} />
        <${CreateInvite} agents=${agents} />
      `
      : html`<p class="loading" role="status">Loading…</p>`}
  `;
}
