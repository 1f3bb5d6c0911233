/**
 * The demo requester: connects to its peer, creates one task, asks for one revision of v1 and
 * completes on v2. Rule-based, no LLM.
 */
import { agentLoop, type AgentRunOptions, idempotent } from "./common.ts";

/** Requester settings. */
export interface RequesterOptions extends AgentRunOptions {
  peer: string;
  title?: string;
  instructions?: string;
  /** Return once the task is completed (otherwise keep running until aborted). */
  once?: boolean;
}

/** Runs the requester; resolves with the task id when it completes (with `once`). */
export async function runRequester(opts: RequesterOptions): Promise<string | null> {
  const { api, handle, peer } = opts;
  const log = opts.log ?? (() => {});
  let done: string | null = null;
  await agentLoop(opts, async () => {
    const connection = (await api.connections(handle)).find((c) => c.peer === peer);
    if (!connection || connection.state === "declined") {
      await api.connect({ from: handle, to: peer, note: "TaskFerry demo: may I send you a task?" });
      log(`asked ${peer} for a connection`);
      return "acted";
    }
    if (connection.state !== "connected") return "idle";
    const tasks = (await api.tasks({ agent: handle })).filter((t) =>
      t.requester === handle && t.worker === peer
    );
    const task = tasks[0];
    if (!task) {
      const created = await api.createTask({
        from: handle,
        to: peer,
        title: opts.title ?? "A haiku about ferries",
        instructions: opts.instructions ??
          "Three lines, 5-7-5, about a ferry carrying work across the water.",
        max_revisions: 2,
      });
      log(`created task ${created.task.id}`);
      return "acted";
    }
    if (task.state === "submitted" && task.revisions === 0) {
      if (
        await idempotent(() =>
          api.requestRevision(task.id, {
            agent: handle,
            feedback: "Lovely. Add the gulls and the far shore.",
          })
        )
      ) {
        log(`requested a revision of v${task.artifact_version}`);
        return "acted";
      }
    } else if (task.state === "submitted" && task.revisions >= 1) {
      if (
        await idempotent(() =>
          api.completeTask(task.id, { agent: handle, note: "Perfect, thank you." })
        )
      ) {
        log(`completed ${task.id} on v${task.artifact_version}`);
        return "acted";
      }
    } else if (task.state === "completed") {
      done = task.id;
      return opts.once === true ? "done" : "idle";
    }
    return "idle";
  });
  return done;
}
