/** The worker's reports of design §11: task_progress (no state change) and task_fail. */
import { assert, assertEquals } from "../assert.ts";
import { allowedActions, applyTaskEvent, isTerminal } from "../../lib/protocol/tasks.ts";
import { ACTIONS, at, event, ok, OWNER, refused, snapshot } from "./tasks_oracle.ts";

Deno.test("task_progress leaves the snapshot untouched, so a stream of it cannot grow it", () => {
  let task = snapshot("accepted");
  for (let i = 0; i < 100; i++) {
    const r = applyTaskEvent(task, event("task_progress", "worker", task));
    assert(r.ok && !r.duplicate);
    assert(r.task === task, "the same snapshot object comes back");
    task = r.task;
  }
  assertEquals(task.event_ids.length, 1);
  // Still checked like any event: not by the requester, not after submitting, not after failing.
  refused(applyTaskEvent(task, event("task_progress", "requester", task)), "task_role");
  const submitted = snapshot("submitted");
  refused(
    applyTaskEvent(submitted, event("task_progress", "worker", submitted)),
    "illegal_transition",
  );
});

Deno.test("task_fail ends the task: failed is terminal and counts as closed", () => {
  const request = event("task_request", "requester", null);
  let task = ok(applyTaskEvent(null, request));
  task = ok(applyTaskEvent(task, event("task_accept", "worker", task)));
  task = ok(applyTaskEvent(task, event("artifact_submit", "worker", task)));
  task = ok(applyTaskEvent(task, event("revision_request", "requester", task)));
  const failE = event("task_fail", "worker", task);
  const failed = ok(applyTaskEvent(task, failE));
  assertEquals(failed.state, "failed");
  assert(isTerminal("failed"));
  assertEquals(allowedActions(failed, "worker"), []);
  assertEquals(allowedActions(failed, "requester"), []);
  for (const type of ACTIONS) {
    refused(applyTaskEvent(failed, event(type, OWNER[type], failed)), "illegal_transition", type);
  }
  // Redelivered: a duplicate, not a second failure.
  const again = applyTaskEvent(failed, failE);
  assert(again.ok && again.duplicate);
  // Past the deadline a fail is refused like any action: the task expires instead.
  const late = snapshot("accepted", { deadline: at(-1) });
  refused(applyTaskEvent(late, event("task_fail", "worker", late)), "task_expired");
});
