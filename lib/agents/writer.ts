/**
 * The demo writer: accepts connection requests and tasks, submits a draft, and answers each
 * revision request with a new version that addresses the feedback. Rule-based, no LLM.
 */
import { agentLoop, type AgentRunOptions, idempotent } from "./common.ts";

/**
 * What the task is about, for the template: the words after "about" in the instructions (or
 * the title), without a trailing sentence.
 */
export function topicOf(title: string, instructions: string): string {
  for (const text of [instructions, title]) {
    const m = /\babout\s+([^.;:!?\n]+)/i.exec(text);
    if (m) return m[1]!.trim().replace(/,$/, "");
  }
  return title.trim() || "the task";
}

/**
 * Drafts an artifact for a task from a simple template over its title and instructions, so the
 * writer writes about what it was asked (deterministic text, so runs are reproducible).
 */
export function draft(
  title: string,
  instructions: string,
  version: number,
  feedback?: string,
): string {
  const topic = topicOf(title, instructions);
  const lines = [
    `# ${title}`,
    "",
    `Draft v${version}, written for: ${instructions}`,
    "",
    `On ${topic}:`,
    `${topic[0]!.toUpperCase()}${topic.slice(1)} at first light,`,
    "the work you asked for takes shape —",
    "carried across to you.",
  ];
  if (feedback) {
    lines.push(
      "",
      `Revised for the feedback: "${feedback}"`,
      `Done as you asked: ${feedback.trim()}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** Runs the writer until aborted. */
export async function runWriter(opts: AgentRunOptions): Promise<void> {
  const { api, handle } = opts;
  const log = opts.log ?? (() => {});
  await agentLoop(opts, async () => {
    let acted = false;
    for (const c of await api.connections(handle)) {
      if (c.state === "pending_in") {
        if (await idempotent(() => api.acceptConnection(c.peer, { agent: handle }))) {
          log(`accepted connection from ${c.peer}`);
          acted = true;
        }
      }
    }
    for (const t of await api.tasks({ agent: handle })) {
      if (t.worker !== handle || t.gate === "pending") continue;
      if (t.state === "requested") {
        if (await idempotent(() => api.acceptTask(t.id, { agent: handle, note: "On it." }))) {
          log(`accepted task ${t.id}`);
          acted = true;
        }
        continue; // submit on the next round, from the fresh state
      }
      if (t.state === "accepted" || t.state === "revision_requested") {
        const detail = await api.task(t.id);
        const feedback = [...detail.events].reverse().find((e) => e.type === "revision_request")
          ?.data
          .feedback as string | undefined;
        const version = t.artifact_version + 1;
        const content = draft(
          t.title,
          t.instructions,
          version,
          t.state === "revision_requested" ? feedback : undefined,
        );
        if (
          await idempotent(() =>
            api.submitArtifact(t.id, { agent: handle, content, content_type: "text/markdown" })
          )
        ) {
          log(`submitted artifact v${version} for ${t.id}`);
          acted = true;
        }
      }
    }
    return acted ? "acted" : "idle";
  });
}
