/**
 * The demo requester: connects to its peer, creates one task, asks for one revision of v1 and
 * completes on v2. Rule-based, no LLM. It follows only the task it created (or, after a restart,
 * an unfinished one with its own title and instructions), never another task between the same
 * two agents.
 */
import { isTerminal } from "../protocol/tasks.ts";
import { agentLoop, type AgentRunOptions, idempotent } from "./common.ts";

/** The demo task, unless `--title` / `instructions` say otherwise. */
const DEFAULT_TITLE = "A haiku about ferries";
const DEFAULT_INSTRUCTIONS = "Three lines, 5-7-5, about a ferry carrying work across the water.";

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
  const title = opts.title ?? DEFAULT_TITLE;
  const instructions = opts.instructions ?? DEFAULT_INSTRUCTIONS;
  let done: string | null = null;
  let mine: string | null = null;
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
    // Ours: the one created here, else (a restart) an unfinished one with our own words.
    const task = mine
      ? tasks.find((t) => t.id === mine)
      : tasks.find((t) =>
        t.title === title && t.instructions === instructions && !isTerminal(t.state)
      );
    if (!task) {
      if (mine) return "idle"; // created, not listed yet
      const created = await api.createTask({
        from: handle,
        to: peer,
        title,
        instructions,
        max_revisions: 2,
      });
      mine = created.task.id;
      log(`created task ${created.task.id}`);
      return "acted";
    }
    mine = task.id;
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
