// Conversations: threads of plain messages per (local agent, peer), and a composer with which
// the owner writes as the local agent.
import { useEffect, useRef, useState } from "preact/hooks";
import { Badge, Empty, ErrorBox, html, Time } from "../ui.js";
import { post, qs, useAction, useApi } from "./api.js";
import { ClippedJson, ClippedLine, shortText } from "./clip.js";
import { FileList, usePendingPoll } from "./files.js";

function threadHref(agent, peer) {
  return `#/conversations${qs({ agent, peer })}`;
}

function MessageItem({ m }) {
  const text = typeof m.payload.text === "string" ? m.payload.text : null;
  return html`
    <li class=${`msg ${m.direction}`}>
      <div class="bubble">
          ${text !== null ? html`<${ClippedLine} text=${text} />` : ""}
          ${m.payload.data !== undefined ? html`<${ClippedJson} value=${m.payload.data} />` : ""}
          <${FileList} files=${m.files} agent=${m.agent} label="Message files" />
        </div>
      <div class="msg-meta">
          <span>${m.direction === "out" ? `${m.from} → ${m.to.join(", ")}` : m.from}</span>
          <${Time} at=${m.created_at} />
          <${Badge} state=${m.state} />
          ${m.state_reason
            ? html`<span class="reason">${shortText(m.state_reason, 300)}</span>`
            : ""}
        </div>
    </li>
  `;
}

function Composer({ agent, peer, conversationId, connected }) {
  const [text, setText] = useState("");
  const action = useAction();
  const send = (e) => {
    e?.preventDefault();
    if (!text.trim()) return;
    action.run(async () => {
      await post("/v1/messages", {
        from: agent,
        to: peer,
        text,
        ...(conversationId ? { conversation_id: conversationId } : {}),
      });
      setText("");
    });
  };
  if (connected === null) return null;
  if (!connected) {
    return html`<p class="notice">${agent} is not connected to ${peer}, so nothing can be sent.</p>`;
  }
  return html`
    <form class="composer" onSubmit=${send}>
      <label for="composer">Write as <strong>${agent}</strong> to ${peer}</label>
      <textarea id="composer" rows="3" value=${text} required aria-describedby="composer-hint"
        onInput=${(e) => setText(e.currentTarget.value)}
        onKeyDown=${(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) send(e);
        }}></textarea>
      <p id="composer-hint" class="hint">Ctrl+Enter sends. Sealed and signed by ${agent}'s key.</p>
      <button type="submit" disabled=${action.busy}>Send</button>
      <${ErrorBox} error=${action.error} />
    </form>
  `;
}

function Thread({ agent, peer, connected }) {
  const { data, error, reload } = useApi(
    `/v1/messages${qs({ agent, peer, type: "message", limit: 200 })}`,
    ["inbox", "message_state", "file"],
  );
  usePendingPoll((data?.messages ?? []).flatMap((m) => m.files ?? []), reload);
  const list = useRef(null);
  const messages = data?.messages ?? [];
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [messages.length]);
  const conversationId = messages.at(-1)?.conversation_id;
  return html`<section class="thread" aria-labelledby="thread-h">
    <h2 id="thread-h">${agent} ⇄ ${peer}</h2>
    <${ErrorBox} error=${error} />
    ${
    data && messages.length === 0
      ? html`<${Empty}>No messages yet. Say hello below.</${Empty}>`
      : ""
  }
    ${
    messages.length
      ? html`<ol class="messages" ref=${list} aria-live="polite">${
        messages.map((m) => html`<${MessageItem} key=${m.id + m.agent} m=${m} />`)
      }</ol>`
      : ""
  }
    <${Composer} agent=${agent} peer=${peer} conversationId=${conversationId} connected=${connected} />
  </section>`;
}

/** The conversations page. */
export function Conversations({ agent, peer }) {
  const convs = useApi("/v1/conversations", ["inbox", "message_state"]);
  const conns = useApi("/v1/connections", ["connection"]);
  const connected = (conns.data?.connections ?? []).filter((c) => c.state === "connected");
  const threads = [...(convs.data?.conversations ?? [])];
  for (const c of connected) {
    if (!threads.some((t) => t.agent === c.agent && t.peer === c.peer)) {
      threads.push({ agent: c.agent, peer: c.peer, messages: 0, unread: 0 });
    }
  }
  const selected = agent && peer ? { agent, peer } : threads[0];
  const isConnected = (a, p) => connected.some((c) => c.agent === a && c.peer === p);
  return html`
    <h1>Conversations</h1>
    <${ErrorBox} error=${convs.error ?? conns.error} />
    ${convs.data && conns.data && threads.length === 0
      ? html`<${Empty}>No conversations. Connect an agent to a peer first (see <a href="#/invites">Invites</a>).</${Empty}>`
      : ""}
    <div class="split">
      <nav aria-label="Threads" class="threads">
        <ul>${threads.map((t) => {
          const current = selected && t.agent === selected.agent && t.peer === selected.peer;
          return html`<li key=${t.agent + t.peer}><a href=${
            threadHref(t.agent, t.peer)
          } aria-current=${current ? "true" : undefined}>
            <strong>${t.peer}</strong> <span class="muted">with ${t.agent}</span>
            <span class="muted">${t.messages} message${t.messages === 1 ? "" : "s"}</span>
            ${t.unread ? html`<${Badge} state="attention" label=${`${t.unread} unread`} />` : ""}
            ${t.last_text ? html`<span class="preview">${shortText(t.last_text, 200)}</span>` : ""}
          </a></li>`;
        })}</ul>
      </nav>
      ${selected
        ? html`
          <${Thread} key=${selected.agent + selected.peer} agent=${selected.agent} peer=${selected
            .peer}
            connected=${conns.data ? isConnected(selected.agent, selected.peer) : null} />
        `
        : ""}
    </div>
  `;
}
