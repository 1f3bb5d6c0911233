/** Deadlines: tasks past theirs move to `expired` (swept by the daemon's timer). */
import { applyTaskEvent, isTerminal, newId, type TaskSnapshot } from "../../protocol/mod.ts";
import type { Daemon } from "../daemon.ts";
import { appendEvent } from "./audit.ts";
import { reofferLapsed } from "./leases.ts";
import { assignClaimed } from "./offers.ts";
import { saveSnapshot } from "./records.ts";

/** Moves tasks whose deadline is before `now` (default: the daemon's clock) to `expired`. */
export function expireDue(d: Daemon, now: Date = new Date(d.now())) {
  const at = now.toISOString();
  for (const row of d.store.tasks.deadlineBefore(at)) {
    const snapshot = JSON.parse(row.snapshot) as TaskSnapshot;
    if (isTerminal(snapshot.state)) continue;
    const id = newId("evt");
    const result = applyTaskEvent(snapshot, { id, type: "expire", role: "system", at });
    if (!result.ok) continue;
    saveSnapshot(d, row.id, result.task);
    appendEvent(d, row.id, id, "expire", "system", at, {});
    d.events.emit("task", { id: row.id, state: "expired" });
  }
  // Lapsed leases are swept on the same timer; re-offering sends, so it runs on its own.
  reofferLapsed(d).catch(() => {});
  assignClaimed(d).catch(() => {});
}
