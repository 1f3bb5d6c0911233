// Connections: requests to answer, per-connection permissions, key-change warnings, blocks.
import { useEffect, useState } from "preact/hooks";
import { Badge, Empty, ErrorBox, Fingerprint, html, Time } from "../ui.js";
import { api, patch, post, useAction, useApi } from "./api.js";
import { shortText } from "./clip.js";
import { PresenceDot } from "./presence.js";

/** The permissions of a connection: what the peer may send to the local agent. */
const FLAGS = [
  ["can_message", "May send messages"],
  ["can_send_task", "May send tasks"],
  ["can_send_artifact", "May send artifacts"],
  ["require_human_gate", "Hold their tasks for my approval"],
];
const NUMBERS = [
  ["max_rate_per_minute", "Envelopes per minute at most", 1, 100000],
  ["max_open_tasks", "Open tasks at most", 0, 10000],
];

function peerPath(peer) {
  // Handles are @owner/name: the route takes them as two path segments.
  return `/v1/connections/${peer.split("/").map(encodeURIComponent).join("/")}`;
}

/** Fingerprint of a presented key, computed here the way the daemon computes pins. */
async function keyFingerprint(key) {
  const bytes = (b64) =>
    Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const s = bytes(key.signing_public_key);
  const e = bytes(key.encryption_public_key);
  const both = new Uint8Array(s.length + e.length);
  both.set(s);
  both.set(e, s.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", both));
  const hex = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g).join("-");
}

/**
 * Block and disconnect a peer: a second click confirms (no modal dialog, which would also stop
 * the page's own tests). The relay refuses the peer from then on; the daemon drops the rest.
 */
function BlockButton({ conn }) {
  const [armed, setArmed] = useState(false);
  const action = useAction();
  const block = () =>
    armed
      ? action.run(() =>
        api("DELETE", `${peerPath(conn.peer)}?agent=${encodeURIComponent(conn.agent)}`)
      )
      : setArmed(true);
  return html`<span class="block">
    <button type="button" class="danger" disabled=${action.busy} onClick=${block}
      aria-label=${`Block ${conn.peer} for ${conn.agent}`}>${
    armed ? "Really block?" : "Block"
  }</button>
    ${
    armed
      ? html`<button type="button" class="secondary" onClick=${() => setArmed(false)}>Keep</button>`
      : ""
  }
    <${ErrorBox} error=${action.error} />
  </span>`;
}

function Blocked({ conn }) {
  const action = useAction();
  return html`<li>${conn.agent} ⊘ <strong>${conn.peer}</strong> <${Badge} state="declined" label="blocked" />
    <button type="button" class="secondary" disabled=${action.busy} onClick=${() =>
    action.run(() => post(`${peerPath(conn.peer)}/unblock`, { agent: conn.agent }))}
      aria-label=${`Unblock ${conn.peer} for ${conn.agent}`}>Unblock</button>
    <${ErrorBox} error=${action.error} />
  </li>`;
}

function PermissionEditor({ conn }) {
  const [perm, setPerm] = useState(conn.permissions);
  const [saved, setSaved] = useState("");
  const action = useAction();
  useEffect(() => setPerm(conn.permissions), [JSON.stringify(conn.permissions)]);
  const id = (k) => `perm-${conn.agent}-${conn.peer}-${k}`.replace(/[^a-zA-Z0-9-]/g, "_");
  const changed = Object.keys(perm).filter((k) => perm[k] !== conn.permissions[k]);
  const save = (e) => {
    e.preventDefault();
    action.run(async () => {
      const permissions = Object.fromEntries(changed.map((k) => [k, perm[k]]));
      await patch(peerPath(conn.peer), { agent: conn.agent, permissions });
      setSaved("Saved; the relay enforces it now.");
      setTimeout(() => setSaved(""), 4000);
    });
  };
  return html`
    <form class="perm" onSubmit=${save} aria-label=${`Permissions of ${conn.peer} towards ${conn.agent}`}>
      <fieldset>
          <legend>What <strong>${conn.peer}</strong> may send to ${conn.agent}</legend>
          ${FLAGS.map(([k, label]) =>
            html`<div class="check"><input type="checkbox" id=${id(k)} name=${k} checked=${perm[k]}
        onChange=${(e) => setPerm({ ...perm, [k]: e.currentTarget.checked })} />
        <label for=${id(k)}>${label}</label></div>`
          )}
          ${NUMBERS.map(([k, label, min, max]) =>
            html`<div class="num"><label for=${id(k)}>${label}</label>
        <input type="number" id=${id(k)} name=${k} min=${min} max=${max} value=${perm[k]}
          onInput=${(e) => setPerm({ ...perm, [k]: Number(e.currentTarget.value) })} /></div>`
          )}
        </fieldset>
      <button type="submit" disabled=${action.busy ||
        changed.length === 0}>Save permissions</button>
      <span class="muted" role="status">${saved}</span>
      <${ErrorBox} error=${action.error} />
    </form>
  `;
}

function Request({ conn }) {
  const [gate, setGate] = useState(false);
  const action = useAction();
  const answer = (verb) =>
    action.run(() =>
      post(`${peerPath(conn.peer)}/${verb}`, {
        agent: conn.agent,
        ...(verb === "accept" && gate ? { permissions: { require_human_gate: true } } : {}),
      })
    );
  const gid = `gate-${conn.agent}-${conn.peer}`.replace(/[^a-zA-Z0-9-]/g, "_");
  return html`<li class="card">
    <p><strong>${conn.peer}</strong> asks to connect to <strong>${conn.agent}</strong></p>
    <p>Fingerprint <${Fingerprint} value=${conn.peer_fingerprint} /></p>
    ${conn.note ? html`<blockquote>${shortText(conn.note, 600)}</blockquote>` : ""}
    <div class="check"><input type="checkbox" id=${gid} checked=${gate}
      onChange=${(e) => setGate(e.currentTarget.checked)} />
      <label for=${gid}>Hold their tasks for my approval</label></div>
    <div class="actions">
      <button type="button" disabled=${action.busy} onClick=${() =>
    answer("accept")}>Accept</button>
      <button type="button" class="danger" disabled=${action.busy} onClick=${() =>
    answer("decline")}>Decline</button>
      <${BlockButton} conn=${conn} />
    </div>
    <${ErrorBox} error=${action.error} />
  </li>`;
}

function QuarantineItem({ item }) {
  const action = useAction();
  const [presented, setPresented] = useState(null);
  useEffect(() => {
    if (item.presented_key) keyFingerprint(item.presented_key).then(setPresented, () => {});
  }, [item.id]);
  const resolve = (verb) =>
    action.run(() => post(`/v1/quarantine/${encodeURIComponent(item.id)}/${verb}`));
  return html`<li class="card warning">
    <p><strong>${
    item.reason === "key_changed" ? "Key changed" : item.reason.replaceAll("_", " ")
  }</strong>:
      a <code>${
    item.type ?? "?"
  }</code> from <strong>${item.from}</strong>, <${Time} at=${item.created_at} /></p>
    <p>Pinned fingerprint <${Fingerprint} value=${item.pinned_fingerprint} />
      <span class="muted">· ${item.size} bytes${item.complete ? "" : ", first 4 KB kept"}</span></p>
    ${
    item.presented_key
      ? html`
        <p>New fingerprint <${Fingerprint} value=${presented} /></p>
        <p
          class="muted">Check the new fingerprint with ${item
            .from}'s owner out of band before accepting.</p>
      `
      : ""
  }
    <div class="actions">
      ${
    item.reason === "key_changed"
      ? html`<button type="button" disabled=${action.busy} onClick=${() =>
        resolve("accept")}>Accept new key</button>`
      : ""
  }
      <button type="button" class="danger" disabled=${action.busy} onClick=${() =>
    resolve("reject")}>Reject</button>
    </div>
    <${ErrorBox} error=${action.error} />
  </li>`;
}

/** One line per connection; the permission editor opens on demand. */
function ConnectionRow({ conn }) {
  const [open, setOpen] = useState(false);
  const id = `perm-${conn.agent}-${conn.peer}`.replace(/[^a-zA-Z0-9-]/g, "_");
  const flags = FLAGS.filter(([k]) => k !== "require_human_gate" && !conn.permissions[k]).length;
  return html`<li class=${open ? "open" : ""}>
    <div class="conn-line">
      <${PresenceDot} conn=${conn} />
      <span class="who"><strong>${conn.agent}</strong> ⇄ <strong>${conn.peer}</strong></span>
      <${Badge} state="connected" />
      ${
    conn.permissions.require_human_gate ? html`<${Badge} state="attention" label="gated" />` : ""
  }
      ${flags ? html`<${Badge} state="attention" label=${`${flags} limited`} />` : ""}
      <span class="fp-short" title=${`peer key fingerprint ${conn.peer_fingerprint}`}>
        <${Fingerprint} value=${conn.peer_fingerprint} /></span>
      <a href=${`#/conversations?agent=${encodeURIComponent(conn.agent)}&peer=${
    encodeURIComponent(conn.peer)
  }`}>Conversation</a>
      <button type="button" class="secondary" aria-expanded=${open} aria-controls=${id}
        onClick=${() => setOpen(!open)}>${open ? "Close permissions" : "Permissions"}</button>
      <${BlockButton} conn=${conn} />
    </div>
    ${
    open
      ? html`
        <div id=${id}>
          <${PermissionEditor} conn=${conn} />
        </div>
      `
      : ""
  }
  </li>`;
}

/** The connections page. */
export function Connections() {
  const conns = useApi("/v1/connections", ["connection"]);
  const quarantine = useApi("/v1/quarantine", ["quarantine"]);
  const list = conns.data?.connections ?? [];
  const by = (state) => list.filter((c) => c.state === state);
  // Older pages of the quarantine, fetched on demand (the list is paged newest first).
  const [older, setOlder] = useState({ items: [], next: undefined });
  const more = useAction();
  const items = [...(quarantine.data?.items ?? []), ...older.items]
    .filter((item, i, all) => all.findIndex((x) => x.id === item.id) === i);
  const nextBefore = older.next !== undefined ? older.next : quarantine.data?.next_before;
  const showOlder = () =>
    more.run(async () => {
      const page = await api("GET", `/v1/quarantine?before=${nextBefore}`);
      setOlder({ items: [...older.items, ...page.items], next: page.next_before });
    });
  return html`
    <h1>Connections</h1>
    <${ErrorBox} error=${conns.error ?? quarantine.error} />
    ${items.length
      ? html`
        <section aria-labelledby="q-h">
          <h2 id="q-h">Key warnings</h2>
          <ul class="plain">${items.map((item) =>
            html`<${QuarantineItem} key=${item.id} item=${item} />`
          )}</ul>
          ${nextBefore
            ? html`
              <button type="button" class="secondary" disabled=${more.busy}
                onClick=${showOlder}>Show older</button>
            `
            : ""}
          <${ErrorBox} error=${more.error} />
        </section>
      `
      : ""}
    <section aria-labelledby="req-h">
      <h2 id="req-h">Requests waiting for you</h2>
      ${by("pending_in").length
        ? html`<ul class="plain">${
          by("pending_in").map((c) => html`<${Request} key=${c.agent + c.peer} conn=${c} />`)
        }</ul>`
        : html`<${Empty}>No connection requests are waiting.</${Empty}>`}
    </section>
    <section aria-labelledby="conn-h">
      <h2 id="conn-h">Connected</h2>
      ${conns.data && by("connected").length === 0
        ? html`<${Empty}>No connections yet. Share an invite from <a href="#/invites">Invites</a>.</${Empty}>`
        : ""}
      <ul class="conn-list">${by("connected").map((c) =>
        html`<${ConnectionRow} key=${c.agent + c.peer} conn=${c} />`
      )}</ul>
    </section>
    ${by("blocked").length
      ? html`
        <section aria-labelledby="blocked-h">
          <h2 id="blocked-h">Blocked</h2>
          <ul class="activity">${by("blocked").map((c) =>
            html`<${Blocked} key=${c.agent + c.peer} conn=${c} />`
          )}</ul>
        </section>
      `
      : ""}
    ${by("pending_out").length || by("declined").length
      ? html`
        <section aria-labelledby="out-h">
          <h2 id="out-h">Sent and declined</h2>
          <ul class="activity">${[...by("pending_out"), ...by("declined")].map((c) =>
            html`
              <li
                key=${c.agent + c.peer}>${c.agent} → ${c.peer} <${Badge} state=${c
                  .state} label=${c.state === "pending_out"
                  ? "waiting for their owner"
                  : "declined"} /></li>
            `
          )}</ul>
        </section>
      `
      : ""}
  `;
}
