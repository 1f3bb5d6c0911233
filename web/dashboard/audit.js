// Audit: the hash-chained task event history, filterable by task and exportable as JSON.
import { useEffect, useState } from "preact/hooks";
import { Empty, ErrorBox, html, Time } from "../ui.js";
import { qs, useApi } from "./api.js";

function download(events, task) {
  const body = JSON.stringify(
    { exported_at: new Date().toISOString(), task: task || null, events },
    null,
    2,
  );
  const url = URL.createObjectURL(new Blob([body], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = `taskferry-audit${task ? "-" + task : ""}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The audit page. */
export function Audit({ task }) {
  const { data, error } = useApi(`/v1/audit${qs({ task })}`, ["task"]);
  const [filter, setFilter] = useState(task);
  useEffect(() => setFilter(task), [task]);
  const events = data?.events;
  const apply = (e) => {
    e.preventDefault();
    location.hash = `#/audit${qs({ task: filter.trim() })}`;
  };
  return html`
    <h1>Audit</h1>
    <p class="muted">Every task event this daemon applied, in order. Each row's hash covers the previous
      row's hash, so the chain shows any edit.</p>
    <form class="inline" onSubmit=${apply}>
      <label for="audit-task">Task id</label>
      <input id="audit-task" value=${filter} placeholder="task_…" onInput=${(e) =>
        setFilter(e.currentTarget.value)} />
      <button type="submit" class="secondary">Filter</button>
      <button type="button" disabled=${!events?.length} onClick=${() =>
        download(events, task)}>Download JSON</button>
    </form>
    <${ErrorBox} error=${error} />
    ${events && events.length === 0
      ? html`<${Empty}>No task events${task ? " for this task" : ""} yet.</${Empty}>`
      : ""}
    ${events?.length
      ? html`
        <div class="table-wrap">
          <table class="audit">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Time</th>
                <th scope="col">Task</th>
                <th scope="col">Event</th>
                <th scope="col">Actor</th>
                <th scope="col">Hash</th>
              </tr>
            </thead>
            <tbody>${events.map((e) =>
              html`
                <tr key=${e.seq}>
                  <td>${e.seq}</td>
                  <td>
                    <${Time} at=${e.at} />
                  </td>
                  <td><a href=${`#/tasks/${e.task_id}`}><code>${e.task_id.slice(-8)}</code></a></td>
                  <td>${e.type.replaceAll("_", " ")}</td>
                  <td>${e.actor}</td>
                  <td><code title=${e.hash}>${e.hash.slice(0, 12)}…</code></td>
                </tr>
              `
            )}</tbody>
          </table>
        </div>
      `
      : ""}
  `;
}
