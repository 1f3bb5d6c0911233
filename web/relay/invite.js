// The relay's invite page: who invites you (handle, profile) and how to open the invite in your
// own TaskFerry daemon. The key fingerprint that counts is the INVITER's, carried in this page's
// address (`/invite/CODE#fp=…`, a fragment the browser never sends to the relay). The page never
// puts the relay's own view of the key into the link: a relay that swapped the key would
// otherwise vouch for itself.
import { useState } from "preact/hooks";
import { CopyButton, ErrorBox, Fingerprint, html, linkFingerprint, Time } from "../ui.js";

const DEFAULT_PORT = 4318;

/** The dashboard address of the visitor's own daemon that opens `link`. */
export function daemonInviteUrl(port, link) {
  return `http://127.0.0.1:${port}/#/invites?open=${encodeURIComponent(link)}`;
}

/** What the page can say about the key: from the inviter's fragment, compared with the relay's. */
function KeyCheck({ fromLink, served }) {
  if (!fromLink) {
    return html`
      <div class="fp-check warning" data-verified="no">
        <p><strong>Not verified.</strong> This page's address carries no fingerprint from the
          inviter (no <code>#fp=…</code>), so nothing here proves whose key this is.</p>
        <p>The relay reports the key <${Fingerprint} value=${served} />. A relay can lie: compare
          it with the owner over a channel you trust before you connect.</p>
      </div>
    `;
  }
  const same = fromLink === served;
  return html`
    <div class=${`fp-check ${same ? "" : "warning"}`} data-verified=${same ? "link" : "mismatch"}>
      <p>Fingerprint in the inviter's link <${Fingerprint} value=${fromLink} />
        <span class="muted">(from this page's address, not from the relay)</span></p>
      ${same
        ? html`<p class="hint">The relay reports the same key. Your daemon checks it again
            against the link before it sends anything.</p>`
        : html`<p role="alert"><strong>The relay serves a different key</strong> <${Fingerprint}
            value=${served} />. Do not connect; tell the owner. Your daemon refuses this link.</p>`}
    </div>
  `;
}

/** The invite page; `data.invite` or `data.error` come embedded in the page. */
export function Invite({ data }) {
  const [port, setPort] = useState(String(DEFAULT_PORT));
  if (data.error) {
    return html`
      <h1>Invite unavailable</h1>
      <${ErrorBox} error=${data.error} />
      <p>Ask the owner for a new invite link.</p>
    `;
  }
  const { invite } = data;
  const profile = invite.agent.profile ?? {};
  const fromLink = linkFingerprint(location.hash);
  const link = fromLink ? `${invite.link}#fp=${fromLink}` : invite.link;
  const valid = /^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) <= 65535;
  const target = valid ? daemonInviteUrl(port, link) : null;
  const open = (e) => {
    e.preventDefault();
    if (target) location.href = target;
  };
  return html`
    <h1>You are invited to connect with <span class="peer">${invite.agent.handle}</span></h1>
    <section class="card" aria-labelledby="peer-h">
      <h2 id="peer-h">${profile.display_name ?? invite.agent.handle}</h2>
      ${profile.description ? html`<p>${profile.description}</p>` : ""}
      <${KeyCheck} fromLink=${fromLink} served=${invite.agent.relay_fingerprint} />
      <p class="muted">Expires <${Time} at=${invite.expires_at} /></p>
    </section>
    <section aria-labelledby="open-h">
      <h2 id="open-h">Open it in TaskFerry</h2>
      <p><a class="button" href=${link}>Open in TaskFerry</a></p>
      <p class="hint">Needs the taskferry:// handler. Otherwise open the invite in your daemon's dashboard:</p>
      <form class="inline" onSubmit=${open}>
        <label for="port">Your daemon's port on 127.0.0.1</label>
        <input id="port" inputmode="numeric" value=${port} size="6" aria-invalid=${!valid}
          onInput=${(e) => setPort(e.currentTarget.value.trim())} />
        <button type="submit" disabled=${!valid}>Open in my dashboard</button>
      </form>
      ${target
        ? html`<p class="hint">Goes to <a href=${target} rel="noreferrer">${`http://127.0.0.1:${port}/`}</a>.</p>`
        : ""}
      <p>Or on the command line:</p>
      <pre>taskferry link-open '${link}' --from @you/agent</pre>
      <${CopyButton} text=${link} label="Copy invite link" />
    </section>
  `;
}
