import { assert, assertEquals } from "../assert.ts";
import {
  allowedActions,
  applyTaskEvent,
  DEFAULT_MAX_REVISIONS,
  isPastDeadline,
  isTerminal,
  roleOf,
  TASK_ACTION_ROLE,
  TASK_STATES,
  type TaskState,
  TERMINAL_STATES,
} from "../../lib/protocol/tasks.ts";
import { newId } from "../../lib/protocol/ids.ts";
import {
  type Action,
  ACTIONS,
  at,
  deepFreeze,
  event,
  LEGAL,
  ok,
  OWNER,
  refused,
  replay,
  ROLES,
  snapshot,
} from "./tasks_oracle.ts";

Deno.test("the state lists match the design", () => {
  assertEquals([...TASK_STATES].sort(), Object.keys(LEGAL).sort());
  assertEquals([...TERMINAL_STATES].sort(), [
    "cancelled",
    "completed",
    "declined",
    "expired",
    "failed",
    "withdrawn",
  ]);
  for (const s of TASK_STATES) assertEquals(isTerminal(s), Object.keys(LEGAL[s]).length === 0, s);
  assertEquals(TASK_ACTION_ROLE, OWNER);
});

Deno.test("task_request creates a requested task", () => {
  const e = event("task_request", "requester", null, { max_revisions: 2, deadline: at(60) });
  const task = ok(applyTaskEvent(null, e));
  assertEquals(task, {
    state: "requested",
    artifact_version: 0,
    revisions: 0,
    max_revisions: 2,
    deadline: at(60),
    event_ids: [e.id],
  });
  const plain = ok(applyTaskEvent(null, event("task_request", "requester", null)));
  assertEquals(plain.max_revisions, DEFAULT_MAX_REVISIONS);
  assertEquals(plain.deadline, null);
});

Deno.test("task_request is refused from a worker, the system, or on an existing task", () => {
  refused(applyTaskEvent(null, event("task_request", "worker", null)), "task_role");
  refused(applyTaskEvent(null, event("task_request", "system", null)), "task_role");
  for (const s of TASK_STATES) {
    const task = snapshot(s);
    refused(
      applyTaskEvent(task, event("task_request", "requester", task)),
      "illegal_transition",
      s,
    );
  }
});

Deno.test("events before the task_request are refused with task_not_found", () => {
  for (const type of [...ACTIONS, "expire" as const]) {
    refused(
      applyTaskEvent(null, event(type, OWNER[type as Action] ?? "system", null)),
      "task_not_found",
    );
  }
});

Deno.test("every legal transition moves to the right state", () => {
  let count = 0;
  for (const from of TASK_STATES) {
    for (const [type, to] of Object.entries(LEGAL[from]) as [Action, TaskState][]) {
      const task = snapshot(from);
      const e = event(type, OWNER[type], task);
      const r = applyTaskEvent(task, e);
      const next = ok(r);
      assert(r.ok && !r.duplicate);
      assertEquals(next.state, to, `${from} --${type}--> ${to}`);
      // Progress changes nothing, not even the applied ids (see the next test).
      const ids = type === "task_progress" || type === "task_claim"
        ? task.event_ids
        : [...task.event_ids, e.id];
      assertEquals(next.event_ids, ids);
      count++;
    }
  }
  assertEquals(count, 17);
});

Deno.test("every illegal transition is refused with illegal_transition", () => {
  let count = 0;
  for (const from of TASK_STATES.filter((s) => s !== "expired")) {
    for (const type of ACTIONS.filter((t) => !(t in LEGAL[from]))) {
      const task = snapshot(from);
      refused(
        applyTaskEvent(task, event(type, OWNER[type], task)),
        "illegal_transition",
        `${from} ${type}`,
      );
      count++;
    }
  }
  assertEquals(count, 10 * ACTIONS.length - 17);
});

Deno.test("an expired task refuses every action with task_expired", () => {
  const task = snapshot("expired", { deadline: at(-1) });
  for (const type of ACTIONS) {
    refused(applyTaskEvent(task, event(type, OWNER[type], task)), "task_expired", type);
  }
});

Deno.test("every out-of-role action is refused with task_role, in every state", () => {
  for (const from of TASK_STATES) {
    for (const type of ACTIONS) {
      for (const role of ROLES.filter((r) => r !== OWNER[type])) {
        const task = snapshot(from);
        refused(
          applyTaskEvent(task, event(type, role, task)),
          "task_role",
          `${from} ${type} by ${role}`,
        );
      }
    }
  }
});

Deno.test("the full flow with a revision loop", () => {
  const request = event("task_request", "requester", null);
  const events = [request];
  let task = ok(applyTaskEvent(null, request));
  const step = (type: Action, state: TaskState) => {
    const e = event(type, OWNER[type], task);
    events.push(e);
    task = ok(applyTaskEvent(task, e));
    assertEquals(task.state, state);
  };
  step("task_accept", "accepted");
  step("artifact_submit", "submitted");
  step("revision_request", "revision_requested");
  step("artifact_submit", "submitted");
  step("revision_request", "revision_requested");
  step("artifact_submit", "submitted");
  step("task_complete", "completed");
  assertEquals(task.artifact_version, 3);
  assertEquals(task.revisions, 2);
  assertEquals(task.event_ids, events.map((e) => e.id));
  assertEquals(replay(events), task, "replaying the same events gives the same task");
});

Deno.test("a redelivered event is a no-op with duplicate: true", () => {
  const request = event("task_request", "requester", null);
  const t1 = ok(applyTaskEvent(null, request));
  const accept = event("task_accept", "worker", t1);
  const t2 = ok(applyTaskEvent(t1, accept));
  const submit = event("artifact_submit", "worker", t2);
  const t3 = ok(applyTaskEvent(t2, submit));
  deepFreeze(t3);
  // Each earlier event again, even one that would now be illegal, changes nothing.
  for (const e of [request, accept, submit]) {
    const r = applyTaskEvent(t3, e);
    assert(r.ok, `redelivery of ${e.type} was refused`);
    assertEquals(r.duplicate, true);
    assertEquals(r.task, t3);
  }
  // A new id with the same content is not a duplicate: it is judged on its own.
  refused(applyTaskEvent(t3, { ...accept, id: newId("msg") }), "illegal_transition");
});

Deno.test("artifact versions must go 1, 2, 3 without gaps", () => {
  const accepted = snapshot("accepted");
  for (const version of [0, 2, 3, -1, undefined]) {
    refused(
      applyTaskEvent(accepted, event("artifact_submit", "worker", accepted, { version })),
      "artifact_version_mismatch",
      String(version),
    );
  }
  const v1 = ok(
    applyTaskEvent(accepted, event("artifact_submit", "worker", accepted, { version: 1 })),
  );
  assertEquals(v1.artifact_version, 1);
  const rev = ok(applyTaskEvent(v1, event("revision_request", "requester", v1)));
  for (const version of [1, 3]) {
    refused(
      applyTaskEvent(rev, event("artifact_submit", "worker", rev, { version })),
      "artifact_version_mismatch",
    );
  }
  assertEquals(
    ok(applyTaskEvent(rev, event("artifact_submit", "worker", rev, { version: 2 })))
      .artifact_version,
    2,
  );
});

Deno.test("a revision request must name the latest artifact version (when it names one)", () => {
  const task = snapshot("submitted", { artifact_version: 2 });
  for (const version of [1, 3]) {
    refused(
      applyTaskEvent(task, event("revision_request", "requester", task, { version })),
      "artifact_version_mismatch",
    );
  }
  assertEquals(
    ok(applyTaskEvent(task, event("revision_request", "requester", task, { version: 2 })))
      .revisions,
    1,
  );
  const noVersion = event("revision_request", "requester", task, { version: undefined });
  assertEquals(ok(applyTaskEvent(task, noVersion)).state, "revision_requested");
});

Deno.test("max_revisions bounds the revision loop, including 0", () => {
  for (const max of [0, 1, 2]) {
    let task = replay([
      event("task_request", "requester", null, { max_revisions: max }),
    ]);
    task = ok(applyTaskEvent(task, event("task_accept", "worker", task)));
    task = ok(applyTaskEvent(task, event("artifact_submit", "worker", task)));
    for (let i = 0; i < max; i++) {
      assert(allowedActions(task, "requester").includes("revision_request"));
      task = ok(applyTaskEvent(task, event("revision_request", "requester", task)));
      task = ok(applyTaskEvent(task, event("artifact_submit", "worker", task)));
    }
    assertEquals(task.revisions, max);
    refused(
      applyTaskEvent(task, event("revision_request", "requester", task)),
      "max_revisions_reached",
      `max ${max}`,
    );
    assertEquals(allowedActions(task, "requester"), ["task_complete", "task_cancel"]);
    assertEquals(
      ok(applyTaskEvent(task, event("task_complete", "requester", task))).state,
      "completed",
    );
  }
});

Deno.test("after the deadline actions are refused with task_expired and expire applies", () => {
  const task = snapshot("accepted", { deadline: at(10) });
  // Exactly at the deadline still counts as in time.
  assertEquals(
    ok(applyTaskEvent(task, event("artifact_submit", "worker", task, { at: at(10) }))).state,
    "submitted",
  );
  for (const type of ACTIONS) {
    refused(
      applyTaskEvent(task, event(type, OWNER[type], task, { at: at(11) })),
      "task_expired",
      type,
    );
  }
  refused(
    applyTaskEvent(task, event("expire", "system", task, { at: at(10) })),
    "illegal_transition",
  );
  const e = event("expire", "system", task, { at: at(11) });
  const expired = ok(applyTaskEvent(task, e));
  assertEquals(expired.state, "expired");
  assertEquals(expired.event_ids, [...task.event_ids, e.id]);
  assertEquals(allowedActions(expired, "requester"), []);
  assertEquals(allowedActions(expired, "worker"), []);
  // Redelivered expire is idempotent; a second, new expire is refused.
  assertEquals(applyTaskEvent(expired, e), { ok: true, task: expired, duplicate: true });
  refused(
    applyTaskEvent(expired, event("expire", "system", expired, { at: at(12) })),
    "illegal_transition",
  );
});

Deno.test("expire needs a deadline and a non-terminal task", () => {
  const noDeadline = snapshot("requested");
  refused(
    applyTaskEvent(noDeadline, event("expire", "system", noDeadline, { at: at(9999) })),
    "illegal_transition",
  );
  for (const s of TERMINAL_STATES) {
    const task = snapshot(s, { deadline: at(-5) });
    refused(
      applyTaskEvent(task, event("expire", "system", task, { at: at(1) })),
      "illegal_transition",
      s,
    );
  }
  for (const s of TASK_STATES.filter((x) => !isTerminal(x))) {
    const task = snapshot(s, { deadline: at(-5) });
    assertEquals(
      ok(applyTaskEvent(task, event("expire", "system", task, { at: at(1) }))).state,
      "expired",
      s,
    );
  }
});

Deno.test("a terminal task past its deadline refuses actions as illegal, not expired", () => {
  const task = snapshot("completed", { deadline: at(-5) });
  refused(applyTaskEvent(task, event("task_cancel", "requester", task)), "illegal_transition");
});

Deno.test("isPastDeadline", () => {
  assertEquals(isPastDeadline({ deadline: null }, at(1e6)), false);
  assertEquals(isPastDeadline({ deadline: at(0) }, at(0)), false);
  assertEquals(isPastDeadline({ deadline: at(0) }, at(1)), true);
  assertEquals(isPastDeadline({ deadline: at(1) }, at(0)), false);
});

Deno.test("allowedActions lists exactly the legal in-role actions", () => {
  for (const s of TASK_STATES) {
    for (const role of ["requester", "worker"] as const) {
      const expected = ACTIONS.filter((t) => t in LEGAL[s] && OWNER[t] === role);
      assertEquals(allowedActions(snapshot(s), role), expected, `${s} ${role}`);
    }
  }
});

Deno.test("applyTaskEvent never mutates its input", () => {
  // Inputs are deep-frozen by the helpers, so a mutation would throw; check values too.
  for (const from of TASK_STATES) {
    for (const type of [...ACTIONS, "expire" as const]) {
      for (const role of ROLES) {
        const task = snapshot(from, { deadline: at(5) });
        const e = event(type, role, task, { at: at(6) });
        const before = structuredClone({ task, e });
        applyTaskEvent(task, e);
        assertEquals({ task, e }, before);
      }
    }
  }
});

Deno.test("roleOf maps handles to roles", () => {
  const parties = { requester: "@alice/req", worker: "@bob/work" };
  assertEquals(roleOf(parties, "@alice/req"), "requester");
  assertEquals(roleOf(parties, "@bob/work"), "worker");
  assertEquals(roleOf(parties, "@carol/x"), null);
});
