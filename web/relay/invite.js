// The relay's invite page: who invites you (handle, profile, key fingerprint) and how to open
// the invite in your own TaskFerry daemon.
import { useState } from "preact/hooks";
import { CopyButton, ErrorBox, Fingerprint, html, Time } from "../ui.js";

const DEFAULT_PORT = 4318;

/** The dashboard address of the visitor's own daemon that opens `link`. */
export function daemonInviteUrl(port, link) {
  return `http://127.0.0.1:${port}/#/invites?open=${encodeURIComponent(link)}`;
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
  const valid = /^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) <= 65535;
  const target = valid ? daemonInviteUrl(port, invite.link) : null;
  const open = (e) => {
    e.preventDefault();
    if (target) location.href = target;
  };
  return html`
    <h1>You are invited to connect with <span class="peer">${invite.agent.handle}</span></h1>
    <section class="card" aria-labelledby="peer-h">
      <h2 id="peer-h">${profile.display_name ?? invite.agent.handle}</h2>
      ${profile.description ? html`<p>${profile.description}</p>` : ""}
      <p>Key fingerprint <${Fingerprint} value=${invite.agent.fingerprint} /></p>
      <p class="hint">Your daemon checks that the relay serves exactly this key before it sends anything.
        Compare the fingerprint with the owner if you can.</p>
      <p class="muted">Expires <${Time} at=${invite.expires_at} /></p>
    </section>
    <section aria-labelledby="open-h">
      <h2 id="open-h">Open it in TaskFerry</h2>
      <p><a class="button" href=${invite.link}>Open in TaskFerry</a></p>
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
      <pre>taskferry link-open '${invite.link}' --from @you/agent</pre>
      <${CopyButton} text=${invite.link} label="Copy invite link" />
    </section>
  `;
}
