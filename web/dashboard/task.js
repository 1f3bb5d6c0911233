// One task: the work first (instructions, live progress, a failure's reason, artifact versions,
// their diff), then the gate and role actions, then the timeline with delivery states.
// Peer-written text is clipped (clip.js).
import { useEffect, useState } from "preact/hooks";
import { Badge, Empty, ErrorBox, html, Time } from "../ui.js";
import { onEvent, post, useAction, useApi } from "./api.js";
import { ClippedText, shortText } from "./clip.js";
import { Diff } from "./diff_view.js";
import { FileDiffs, FileList, usePendingPoll } from "./files.js";

/** The actions a role may take (task.allowed_actions), with their route and form fields. */
const ACTIONS = {
  task_accept: {
    route: "accept",
    label: "Accept task",
    fields: [["note", "Note (optional)", false]],
  },
  task_decline: {
    route: "decline",
    label: "Decline task",
    danger: true,
    fields: [["reason", "Reason (optional)", false]],
  },
  artifact_submit: {
    route: "artifacts",
    label: "Submit artifact",
    fields: [["content", "Artifact content", true, true], ["name", "Name (optional)", false], [
      "note",
      "Note (optional)",
      false,
    ]],
  },
  revision_request: {
    route: "revisions",
    label: "Request revision",
    fields: [["feedback", "Feedback", true, true]],
  },
  task_complete: {
    route: "complete",
    label: "Complete task",
    fields: [["note", "Note (optional)", false]],
  },
  task_cancel: {
    route: "cancel",
    label: "Cancel task",
    danger: true,
    fields: [["reason", "Reason (optional)", false]],
  },
  task_claim: {
    route: "claim",
    label: "Claim this offer",
    fields: [["note", "Note (optional)", false]],
  },
};

/**
 * An offer's candidates and, on the requester's daemon, the worker's lease with a countdown
 * (design §13). Nothing for a direct task.
 */
function Offer({ task }) {
  const [now, setNow] = useState(Date.now());
  const until = task.lease?.until ? Date.parse(task.lease.until) : null;
  useEffect(() => {
    if (until === null) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  if (!task.candidates) return null;
  const left = until === null ? null : Math.max(0, Math.round((until - now) / 1000));
  return html`<p class="meta">
    <span>Offered to ${task.candidates.join(", ")}</span>
    ${
    task.lease
      ? html`<span class="muted"> · lease ${task.lease.seconds} s${
        left === null ? " (not running)" : left === 0 ? " — lapsed, re-offering" : " — "
      }${left ? html`<span role="timer">${left} s left</span>` : ""}</span>`
      : ""
  }
  </p>`;
}

function ActionForm({ taskId, agent, type }) {
  const spec = ACTIONS[type];
  const action = useAction();
  const [done, setDone] = useState("");
  if (!spec) return null;
  const id = (f) => `${type}-${agent}-${f}`.replace(/[^a-zA-Z0-9-]/g, "_");
  const submit = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const body = { agent };
    for (const [name] of spec.fields) {
      const v = new FormData(form).get(name);
      if (typeof v === "string" && v.trim() !== "") body[name] = v;
    }
    action.run(async () => {
      const r = await post(`/v1/tasks/${taskId}/${spec.route}`, body);
      form.reset();
      setDone(`Sent (${r.message?.state ?? "queued"}).`);
    });
  };
  return html`<form class="action card" onSubmit=${submit} aria-label=${`${spec.label} as ${agent}`}>
    <h3>${spec.label}</h3>
    ${
    spec.fields.map(([name, label, required, long]) =>
      html`<label for=${id(name)}>${label}</label>
      ${
        long
          ? html`<textarea id=${id(name)} name=${name} required=${required} rows="6"></textarea>`
          : html`<input id=${id(name)} name=${name} required=${required} />`
      }`
    )
  }
    <button type="submit" class=${
    spec.danger ? "danger" : ""
  } disabled=${action.busy}>${spec.label}</button>
    <span class="muted" role="status">${done}</span>
    <${ErrorBox} error=${action.error} />
  </form>`;
}

function Gate({ task }) {
  const action = useAction();
  const [reason, setReason] = useState("");
  if (task.gate !== "pending") return null;
  return html`
    <section class="card warning" aria-labelledby="gate-h">
      <h2 id="gate-h">Awaiting your approval</h2>
      <p>${task.worker} does not see this task until you approve it.</p>
      <label for="gate-reason">Reason if you reject (optional)</label>
      <input id="gate-reason" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
      <div class="actions">
        <button type="button" disabled=${action.busy} onClick=${() =>
          action.run(() => post(`/v1/tasks/${task.id}/approve`))}>Approve task</button>
        <button type="button" class="danger" disabled=${action.busy}
          onClick=${() =>
            action.run(() =>
              post(`/v1/tasks/${task.id}/reject`, reason ? { reason } : {})
            )}>Reject task</button>
      </div>
      <${ErrorBox} error=${action.error} />
    </section>
  `;
}

function eventSummary(e) {
  const d = e.data ?? {};
  const parts = [];
  if (e.type === "task_request") parts.push(shortText(d.title, 120));
  if (d.version) parts.push(`v${d.version}`);
  if (d.artifact_version && e.type !== "artifact_submit") parts.push(`on v${d.artifact_version}`);
  for (const k of ["feedback", "note", "reason"]) if (d[k]) parts.push(`“${d[k]}”`);
  return shortText(parts.filter(Boolean).join(" "), 300);
}

/** Progress lines the pane shows (the daemon keeps up to 200 per task). */
const PROGRESS_LINES = 50;

/**
 * The worker's progress: the lines the task detail carried, then each `task_progress` event
 * appended as it arrives (no reload per line: a chatty worker would flood the API).
 */
function ProgressPane({ taskId, initial, running }) {
  const [lines, setLines] = useState(initial);
  useEffect(() => setLines(initial), [initial]);
  useEffect(() =>
    onEvent((type, d) => {
      if (type !== "task_progress" || d.task_id !== taskId) return;
      setLines((old) =>
        old.some((l) => l.message_id === d.message_id) ? old : [...old, d].slice(-PROGRESS_LINES)
      );
    }), [taskId]);
  if (!running && lines.length === 0) return null;
  const shown = lines.slice(-PROGRESS_LINES);
  return html`<section aria-labelledby="prog-h">
    <h2 id="prog-h">Progress</h2>
    ${
    shown.length === 0
      ? html`<${Empty}>No progress reported yet.</${Empty}>`
      : html`<ol class="progress-log" role="log" aria-label="Progress lines">${
        shown.map((l) =>
          html`<li key=${l.message_id}><${Time} at=${l.at} /> ${
            l.queue_position
              ? html`
                <${Badge} state="queued" label=${`queue #${l.queue_position}`} />
              `
              : ""
          }<span>${shortText(l.text, 2000)}</span></li>`
        )
      }</ol>`
  }
  </section>`;
}

/** Why the worker gave up (`task_fail`). */
function Failure({ failure }) {
  if (!failure) return null;
  return html`
    <section class="card warning" aria-labelledby="fail-h">
      <h2 id="fail-h">The worker failed this task</h2>
      <${ClippedText} text=${failure.reason} />
      <p class="muted">${failure.code
        ? html`
          code <code>${failure.code}</code> ·
        `
        : ""}<${Time}
          at=${failure.at} /></p>
    </section>
  `;
}

/** The task page. */
export function TaskPage({ id }) {
  const { data, error, reload } = useApi(
    `/v1/tasks/${encodeURIComponent(id)}`,
    ["task", "message_state", "inbox", "file"],
    (type, d) => type === "message_state" || type === "file" || d.id === id || d.task_id === id,
  );
  usePendingPoll([
    ...(data?.task.files ?? []),
    ...(data?.artifacts ?? []).flatMap((a) => a.files ?? []),
  ], reload);
  if (error && !data) {
    return html`
      <h1>Task</h1>
      <${ErrorBox} error=${error} />
      <p><a href="#/tasks">All tasks</a></p>
    `;
  }
  if (!data) return html`<p class="loading" role="status">Loading…</p>`;
  const { task, events, artifacts, progress = [] } = data;
  const running = task.state === "accepted" || task.state === "revision_requested";
  const actors = Object.entries(task.allowed_actions ?? {}).filter(([, list]) => list.length);
  return html`
    <p><a href="#/tasks">← All tasks</a></p>
    <h1>${shortText(task.title, 300)}</h1>
    <p class="meta"><${Badge} state=${task.state} /> ${task.gate !== "none"
      ? html`<${Badge} state=${`gate-${task.gate}`} label=${`gate ${task.gate}`} />`
      : ""}
      <span>${task.requester} → ${task.worker || "(not assigned)"}</span>
      <span class="muted">revisions ${task.revisions}/${task.max_revisions}${task.deadline
        ? html`
          · deadline <${Time} at=${task.deadline} />
        `
        : ""}</span></p>
    <${Offer} task=${task} />
    <${ErrorBox} error=${error} />
    <${Gate} task=${task} />
    <${Failure} failure=${task.failure} />
    <section aria-labelledby="instr-h">
      <h2 id="instr-h">Instructions</h2>
      <${ClippedText} text=${task.instructions} cls="prose" />
      <${FileList} files=${task.files} label="Request files" />
    </section>
    <${ProgressPane} taskId=${task.id} initial=${progress} running=${running} />
    <section aria-labelledby="art-h">
      <h2 id="art-h">Artifacts</h2>
      ${artifacts.length === 0 ? html`<${Empty}>No artifact submitted yet.</${Empty}>` : ""}
      ${[...artifacts].reverse().map((a, i) =>
        html`<details key=${a.version} open=${i === 0} class="artifact">
        <summary>v${a.version}${
          a.name ? ` — ${shortText(a.name, 120)}` : ""
        } <${Time} at=${a.created_at} /></summary>
        ${a.note ? html`<p class="muted">${shortText(a.note, 600)}</p>` : ""}
        <${ClippedText} text=${a.content} />
        <${FileList} files=${a.files} label=${`Files of v${a.version}`} />
      </details>`
      )}
    </section>
    ${artifacts.length >= 2
      ? html`<${Diff} artifacts=${artifacts} extra=${(a, b) =>
        html`<${FileDiffs} from=${a} to=${b} />`} />`
      : ""}
    ${actors.length
      ? html`<section aria-labelledby="act-h"><h2 id="act-h">Actions</h2>
      ${
        actors.map(([agent, list]) =>
          html`
            <p class="muted">As ${agent} (${task.local_roles[agent]})</p>
            <div class="action-grid">${list.map((t) =>
              html`<${ActionForm} key=${agent + t} taskId=${task.id} agent=${agent} type=${t} />`
            )}</div>
          `
        )
      }</section>`
      : ""}
    <section aria-labelledby="tl-h">
      <h2 id="tl-h">Timeline</h2>
      <ol class="timeline">${events.map((e) =>
        html`<li key=${e.seq}><${Time} at=${e.at} /> <strong>${e.type.replaceAll("_", " ")}</strong>
        <span>by ${e.actor}</span> <span class="summary">${eventSummary(e)}</span>
        <${Badge} state=${
          e.delivery_state ?? (task.local_roles[e.actor] ? null : "received")
        } /></li>`
      )}</ol>
    </section>
  `;
}
