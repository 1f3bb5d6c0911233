// Tasks: the list with a state filter; a running task shows its worker's latest progress line.
import { Badge, Empty, ErrorBox, html, Time } from "../ui.js";
import { qs, useApi } from "./api.js";
import { shortText } from "./clip.js";

/** Task states, in lifecycle order (lib/protocol/tasks.ts). */
export const TASK_STATES = [
  "requested",
  "accepted",
  "submitted",
  "revision_requested",
  "completed",
  "declined",
  "cancelled",
  "expired",
  "failed",
];

/** The tasks page. */
export function Tasks({ state }) {
  const { data, error } = useApi(`/v1/tasks${qs({ state })}`, ["task", "task_progress"]);
  const tasks = data?.tasks;
  const setState = (e) => {
    const v = e.currentTarget.value;
    location.hash = v ? `#/tasks?state=${v}` : "#/tasks";
  };
  return html`
    <h1>Tasks</h1>
    <form class="inline" onSubmit=${(e) => e.preventDefault()}>
      <label for="state-filter">State</label>
      <select id="state-filter" value=${state} onChange=${setState}>
        <option value="">all states</option>
        ${TASK_STATES.map((s) => html`<option value=${s}>${s.replaceAll("_", " ")}</option>`)}
      </select>
    </form>
    <${ErrorBox} error=${error} />
    ${tasks && tasks.length === 0
      ? html`<${Empty}>${
        state
          ? `No ${state.replaceAll("_", " ")} tasks.`
          : "No tasks yet. Tasks your agents send or receive appear here."
      }</${Empty}>`
      : ""}
    ${tasks?.length
      ? html`
        <div class="table-wrap">
          <table class="tasks stack">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Requester → worker</th>
                <th scope="col">State</th>
                <th scope="col">Version</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>${tasks.map((t) =>
              html`
                <tr key=${t.id}>
                  <td><a href=${`#/tasks/${t.id}`}>${shortText(
                    t.title,
                    200,
                  )}</a>${t.gate === "pending"
                    ? html`
                      <${Badge} state="attention" label="awaiting your approval" />
                    `
                    : ""}${(t.state === "accepted" || t.state === "revision_requested") &&
                      t.last_progress
                    ? html`<div class="muted progress-last">${
                      shortText(
                        t.last_progress.text,
                        160,
                      )
                    }</div>`
                    : ""}${t.failure
                    ? html`<div class="muted">${shortText(t.failure.reason, 160)}</div>`
                    : ""}</td>
                  <td data-label="Parties">${t.requester} → ${t.worker ||
                    `offer to ${t.candidates?.length ?? 0}`}</td>
                  <td data-label="State">
                    <${Badge} state=${t.state} />
                  </td>
                  <td data-label="Version">${t.artifact_version
                    ? `v${t.artifact_version}`
                    : "—"}</td>
                  <td data-label="Updated">
                    <${Time} at=${t.updated_at} />
                  </td>
                </tr>
              `
            )}</tbody>
          </table>
        </div>
      `
      : ""}
  `;
}
