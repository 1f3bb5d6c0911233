/**
 * Progress reports (`task_progress`, issue 15): a worker's running commentary. They change no
 * state, so they stay out of the snapshot and out of the hash-chained audit log (a long run
 * would grow both without bound); each task keeps its latest lines in `task_progress`
 * (store/tasks.ts `PROGRESS_KEEP`), and every party's daemon emits them live as `task_progress`
 * events on `GET /v1/events`.
 */
import type { Envelope } from "../../protocol/mod.ts";
import type { TaskProgressView } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";

/** A progress line as received or sent (the envelope's id, sender and time). */
export interface ProgressLine {
  message_id: string;
  from: string;
  text: string;
  queue_position?: number | undefined;
  at: string;
}

/** Keeps a progress line in the task's bounded tail (false when already kept). */
export function keepProgress(d: Daemon, taskId: string, line: ProgressLine): boolean {
  const { queue_position, ...rest } = line;
  return d.store.tasks.addProgress(
    taskId,
    queue_position === undefined ? rest : { ...rest, queue_position },
  );
}

/** The progress line an envelope carries. */
export function progressOf(envelope: Envelope, payload: Record<string, unknown>): ProgressLine {
  return {
    message_id: envelope.id,
    from: envelope.from,
    text: payload.text as string,
    queue_position: payload.queue_position as number | undefined,
    at: envelope.created_at,
  };
}

/** Emits a `task_progress` event to the streams of local party `agent`. */
export function emitProgress(d: Daemon, taskId: string, line: ProgressLine, agent: string) {
  const data: Record<string, unknown> = {
    task_id: taskId,
    message_id: line.message_id,
    from: line.from,
    text: line.text,
    at: line.at,
  };
  if (line.queue_position !== undefined) data.queue_position = line.queue_position;
  d.events.emit("task_progress", data, agent);
}

/** The task's latest progress line, if any. */
export function lastProgress(d: Daemon, taskId: string): TaskProgressView | undefined {
  return d.store.tasks.progress(taskId, 1)[0];
}
