/**
 * The prompt a run gets on stdin: the task's title, instructions and inputs, and on a revision
 * the requested changes and the previous artifact. Content travels here and in the task file,
 * never on argv or in environment values (design §11).
 */
import type { TaskDetail } from "../sdk/mod.ts";

/** The round a task is in: its revision number and the artifact version the round produces. */
export interface Round {
  /** 0 for the first run, n after the n-th revision request. */
  revision: number;
  /** The artifact version this round submits. */
  version: number;
}

/** The round of a runnable task (accepted or revision_requested). */
export function roundOf(task: { revisions: number; artifact_version: number }): Round {
  return { revision: task.revisions, version: task.artifact_version + 1 };
}

/** The feedback of the latest revision request, if any. */
export function latestFeedback(detail: TaskDetail): string | undefined {
  const ev = [...detail.events].reverse().find((e) => e.type === "revision_request");
  const feedback = ev?.data.feedback;
  return typeof feedback === "string" ? feedback : undefined;
}

/** Builds the stdin prompt for `detail` in `round`. */
export function buildPrompt(detail: TaskDetail, round: Round): string {
  const t = detail.task;
  const parts = [`# Task: ${t.title}`, "", t.instructions.trim()];
  if (t.inputs && Object.keys(t.inputs).length) {
    parts.push("", "## Inputs (JSON)", "", "```json", JSON.stringify(t.inputs, null, 2), "```");
  }
  if (round.revision > 0) {
    parts.push("", `## Revision ${round.revision} requested`, "");
    parts.push(latestFeedback(detail)?.trim() || "(no feedback given)");
    const previous = detail.artifacts.at(-1);
    if (previous) {
      const name = previous.name ? ` (${previous.name})` : "";
      parts.push("", `## Previous artifact: version ${previous.version}${name}`, "");
      parts.push(previous.content);
    }
    parts.push("", `Produce version ${round.version}, addressing the requested changes.`);
  }
  return parts.join("\n") + "\n";
}
