// Activity: tasks by state over time, messages in and out per hour, and per connection when the
// peer was last heard from and how much went each way. Computed in the browser from the loopback
// API the other views already use (GET /v1/tasks, /v1/messages, /v1/connections): the daemon
// tracks nothing extra for it. Messages are the latest 500 (the API's limit), said on the page.
import { Empty, ErrorBox, html, Time } from "../ui.js";
import { TimeChart } from "../charts.js";
import { useApi } from "./api.js";

const HOUR = 3_600_000;
/** Hours shown, ending with the current one. */
export const ACTIVITY_HOURS = 24;
const MESSAGE_LIMIT = 500;
const TERMINAL = new Set(["completed", "declined", "cancelled", "expired"]);

/** Start times of the last `hours` hours, oldest first, the last one containing `now`. */
export function hourStarts(now, hours = ACTIVITY_HOURS) {
  const current = Math.floor(now / HOUR) * HOUR;
  return Array.from({ length: hours }, (_, i) => current - (hours - 1 - i) * HOUR);
}

/** Messages in and out per hour bucket. */
export function messagesPerHour(messages, starts) {
  const first = starts[0];
  const inbound = starts.map(() => 0);
  const outbound = starts.map(() => 0);
  for (const m of messages) {
    const i = Math.floor((Date.parse(m.created_at) - first) / HOUR);
    if (i < 0 || i >= starts.length) continue;
    (m.direction === "in" ? inbound : outbound)[i]++;
  }
  return { inbound, outbound };
}

/**
 * Tasks at the end of each hour: open (not yet in a final state), completed, and ended
 * otherwise (declined, cancelled, expired). A task counts from its creation; its final state
 * counts from its last update, which is when it reached that state.
 */
export function tasksOverTime(tasks, starts, now) {
  const open = [];
  const completed = [];
  const ended = [];
  for (const start of starts) {
    const t = Math.min(start + HOUR, now);
    let o = 0;
    let c = 0;
    let e = 0;
    for (const task of tasks) {
      if (Date.parse(task.created_at) > t) continue;
      const final = TERMINAL.has(task.state) && Date.parse(task.updated_at) <= t;
      if (!final) o++;
      else if (task.state === "completed") c++;
      else e++;
    }
    open.push(o);
    completed.push(c);
    ended.push(e);
  }
  return { open, completed, ended };
}

/** Per (local agent, peer): messages each way and when the peer was last heard from. */
export function perConnection(connections, messages) {
  return connections.map((c) => {
    let inbound = 0;
    let outbound = 0;
    let lastSeen = null;
    let lastAny = null;
    for (const m of messages) {
      if (m.agent !== c.agent) continue;
      const fromPeer = m.direction === "in" && m.from === c.peer;
      const toPeer = m.direction === "out" && m.to.includes(c.peer);
      if (!fromPeer && !toPeer) continue;
      if (fromPeer) {
        inbound++;
        lastSeen = m.created_at;
      } else outbound++;
      lastAny = m.created_at;
    }
    return { ...c, inbound, outbound, last_seen: lastSeen, last_message: lastAny };
  });
}

/** The activity page. */
export function Activity() {
  const types = ["inbox", "message_state", "task", "connection"];
  const tasks = useApi("/v1/tasks", types);
  const messages = useApi(`/v1/messages?limit=${MESSAGE_LIMIT}`, types);
  const conns = useApi("/v1/connections", ["connection", "inbox"]);
  const error = tasks.error ?? messages.error ?? conns.error;
  if (!tasks.data || !messages.data || !conns.data) {
    return html`
      <h1>Activity</h1>
      <${ErrorBox} error=${error} />
      <p class="loading" role="status">Loading…</p>
    `;
  }
  const now = Date.now();
  const starts = hourStarts(now);
  const msgs = messages.data.messages;
  const perHour = messagesPerHour(msgs, starts);
  const overTime = tasksOverTime(tasks.data.tasks, starts, now);
  const rows = perConnection(conns.data.connections, msgs);
  const oldest = msgs[0]?.created_at;
  return html`
    <h1>Activity</h1>
    <${ErrorBox} error=${error} />
    <p class="muted">The last ${ACTIVITY_HOURS} hours, computed in this page from the tasks, the
      latest ${MESSAGE_LIMIT} messages${oldest ? " (since " : ""}${oldest
        ? html`<${Time} at=${oldest} />`
        : ""}${oldest ? ")" : ""}${" "}and the connections. Point at a chart to read its values.</p>
    <div class="chart-grid">
      <${TimeChart} id="chart-tasks" title="Tasks by state" unit="tasks" times=${starts}
        series=${[
          { label: "open", cls: "s1", values: overTime.open },
          { label: "completed", cls: "s4", values: overTime.completed },
          { label: "declined, cancelled or expired", cls: "s2", values: overTime.ended },
        ]} />
      <${TimeChart} id="chart-messages" title="Messages per hour" unit="messages/hour" kind="bar"
        times=${starts} series=${[
          { label: "in", cls: "s1", values: perHour.inbound },
          { label: "out", cls: "s2", values: perHour.outbound },
        ]} />
    </div>
    <section aria-labelledby="per-conn-h">
      <h2 id="per-conn-h">Per connection</h2>
      ${rows.length === 0 ? html`<${Empty}>No connections yet.</${Empty}>` : html`
        <div class="table-wrap">
          <table class="per-conn">
            <thead>
              <tr>
                <th scope="col">Agent ⇄ peer</th>
                <th scope="col">State</th>
                <th scope="col">Last heard from</th>
                <th scope="col" class="num">In</th>
                <th scope="col" class="num">Out</th>
              </tr>
            </thead>
            <tbody>${rows.map((r) =>
              html`
                <tr key=${r.agent + r.peer}>
                  <td>${r.agent} ⇄ <strong>${r.peer}</strong></td>
                  <td>${r.state.replaceAll("_", " ")}</td>
                  <td>${r.last_seen
                    ? html`<${Time} at=${r.last_seen} />`
                    : html`<span class="muted">never</span>`}</td>
                  <td class="num" data-dir="in">${r.inbound}</td>
                  <td class="num" data-dir="out">${r.outbound}</td>
                </tr>
              `
            )}</tbody>
          </table>
        </div>
      `}
    </section>
  `;
}
