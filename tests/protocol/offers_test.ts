/** The offer rules of the task machine (design §13, protocol §11.1): pure, no I/O. */
import { assert, assertEquals } from "../assert.ts";
import {
  allowedActions,
  applyTaskEvent,
  isTerminal,
  type TaskEvent,
  type TaskSnapshot,
} from "../../lib/protocol/tasks.ts";
import { newId } from "../../lib/protocol/ids.ts";
import { at } from "./tasks_oracle.ts";

const CANDIDATES = ["@b/rev", "@c/rev", "@d/rev"];

function offer(): TaskSnapshot {
  const r = applyTaskEvent(null, {
    id: newId("msg"),
    type: "task_request",
    role: "requester",
    at: at(),
    candidates: CANDIDATES,
  });
  assert(r.ok);
  return r.task;
}

const ev = (type: TaskEvent["type"], role: TaskEvent["role"], extra: Partial<TaskEvent> = {}) => ({
  id: newId("msg"),
  type,
  role,
  at: at(1),
  ...extra,
});

Deno.test("an offer starts offered with its candidates; only a claim or the assignment fit", () => {
  const task = offer();
  assertEquals(task.state, "offered");
  assertEquals(task.candidates, CANDIDATES);
  assertEquals(allowedActions(task, "worker"), ["task_claim"]);
  assertEquals(allowedActions(task, "requester"), ["task_cancel", "task_assign"]);
  for (const type of ["task_accept", "artifact_submit", "task_progress"] as const) {
    const r = applyTaskEvent(task, ev(type, "worker"));
    assert(!r.ok && r.error.code === "illegal_transition", type);
  }
});

Deno.test("claims change nothing; the assignment decides once; later claims are refused", () => {
  const task = offer();
  const claimed = applyTaskEvent(task, ev("task_claim", "worker"));
  assert(claimed.ok && !claimed.duplicate);
  assertEquals(claimed.task, task);
  const assigned = applyTaskEvent(task, ev("task_assign", "requester"));
  assert(assigned.ok);
  assertEquals(assigned.task.state, "accepted");
  // A second assignment or a late claim: refused, so there is never a second winner.
  for (const [type, role] of [["task_assign", "requester"], ["task_claim", "worker"]] as const) {
    const r = applyTaskEvent(assigned.task, ev(type, role));
    assert(!r.ok && r.error.code === "illegal_transition", type);
  }
  // Only the requester assigns, only a candidate claims.
  const forged = applyTaskEvent(task, ev("task_assign", "worker"));
  assert(!forged.ok && forged.error.code === "task_role");
});

Deno.test("a losing candidate withdraws: terminal, nothing left to do", () => {
  const r = applyTaskEvent(offer(), ev("task_assign", "requester", { withdrawn: true }));
  assert(r.ok);
  assertEquals(r.task.state, "withdrawn");
  assert(isTerminal("withdrawn"));
  assertEquals(allowedActions(r.task, "worker"), []);
});

Deno.test("an offer needs two or more distinct candidates; a direct task has none", () => {
  for (const candidates of [["@b/rev"], ["@b/rev", "@b/rev"], []]) {
    const r = applyTaskEvent(null, ev("task_request", "requester", { candidates }));
    assert(!r.ok && r.error.code === "validation_failed", JSON.stringify(candidates));
  }
  const direct = applyTaskEvent(null, ev("task_request", "requester"));
  assert(direct.ok && direct.task.state === "requested" && !("candidates" in direct.task));
});

Deno.test("a re-offer after a lapsed lease: back to offered without the lapsed worker", () => {
  const assigned = applyTaskEvent(offer(), ev("task_assign", "requester"));
  assert(assigned.ok);
  const reopen = applyTaskEvent(
    assigned.task,
    ev("task_assign", "requester", { lapsed: "@b/rev" }),
  );
  assert(reopen.ok);
  assertEquals(reopen.task.state, "offered");
  assertEquals(reopen.task.candidates, ["@c/rev", "@d/rev"]);
  // On the lapsed worker's daemon it withdraws: it must stop.
  const lapsed = applyTaskEvent(
    assigned.task,
    ev("task_assign", "requester", { lapsed: "@b/rev", withdrawn: true }),
  );
  assert(lapsed.ok && lapsed.task.state === "withdrawn");
  assertEquals(allowedActions(lapsed.task, "worker"), []);
  // A candidate that lost round one wakes up and may claim again.
  const lost = applyTaskEvent(offer(), ev("task_assign", "requester", { withdrawn: true }));
  assert(lost.ok);
  const woken = applyTaskEvent(lost.task, ev("task_assign", "requester", { lapsed: "@b/rev" }));
  assert(woken.ok && woken.task.state === "offered");
  assertEquals(allowedActions(woken.task, "worker"), ["task_claim"]);
  // A plain assignment is only for an open offer.
  const twice = applyTaskEvent(assigned.task, ev("task_assign", "requester"));
  assert(!twice.ok && twice.error.code === "illegal_transition");
});
