/**
 * `POST /v1/responses` with `stream: true`: Responses API events while the remote agent works.
 * The worker's progress lines (`task_progress`, issue 15) become a `reasoning` output item whose
 * summary parts are the lines, one part per line (`response.reasoning_summary_part.added`,
 * `…_text.delta`, `…_text.done`, `…_part.done`): the running commentary a model's reasoning
 * summary is, kept apart from the answer so `output_text` stays the artifact alone. The
 * artifact follows as the `message` item, as without progress. A task that ends `failed`
 * (the worker's `task_fail`) ends with `response.failed` and then an `error` event, which the
 * official client raises as an `APIError` with code `task_failed` (docs/integrations.md).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Daemon } from "../daemon.ts";
import type { DaemonEvent } from "../events.ts";
import { DEFAULT_DAEMON_OPTIONS } from "../options.ts";
import type { Call } from "./call.ts";
import { toOpenAI } from "./errors.ts";
import { awaitOutcome } from "./outcome.ts";
import { finalize, outputItem, outputPart, responseObject } from "./response.ts";

type Send = (type: string, data: Record<string, unknown>) => Promise<void>;

/** The reasoning item that carries progress lines (opened by the first line). */
class ProgressItem {
  readonly lines: string[] = [];
  readonly id: string;
  constructor(call: Call, private readonly send: Send) {
    this.id = `rs_${call.requestId}`;
  }

  /** The item as the final response lists it (null before any progress). */
  item(status = "completed") {
    if (this.lines.length === 0) return null;
    return {
      type: "reasoning",
      id: this.id,
      status,
      summary: this.lines.map((text) => ({ type: "summary_text", text })),
    };
  }

  /** Streams one line as the next summary part. */
  async add(text: string) {
    const base = { item_id: this.id, output_index: 0 };
    if (this.lines.length === 0) {
      await this.send("response.output_item.added", {
        output_index: 0,
        item: { type: "reasoning", id: this.id, status: "in_progress", summary: [] },
      });
    }
    const ids = { ...base, summary_index: this.lines.length };
    this.lines.push(text);
    await this.send("response.reasoning_summary_part.added", {
      ...ids,
      part: { type: "summary_text", text: "" },
    });
    await this.send("response.reasoning_summary_text.delta", { ...ids, delta: text });
    await this.send("response.reasoning_summary_text.done", { ...ids, text });
    await this.send("response.reasoning_summary_part.done", {
      ...ids,
      part: { type: "summary_text", text },
    });
  }

  /** Closes the item (when it was opened); returns the output index the answer takes. */
  async close(): Promise<number> {
    const item = this.item();
    if (!item) return 0;
    await this.send("response.output_item.done", { output_index: 0, item });
    return 1;
  }
}

/** The streamed answer of a call (its task already created). */
export function streamResponse(c: Context, d: Daemon, call: Call): Response {
  return streamSSE(c, async (stream) => {
    let seq = 0;
    const send: Send = (type, data) =>
      stream.writeSSE({
        event: type,
        data: JSON.stringify({ type, sequence_number: seq++, ...data }),
      });
    // One writer at a time: progress arrives on the event bus while the outcome is awaited.
    let writing: Promise<void> = Promise.resolve();
    const serial = (fn: () => Promise<unknown>) => (writing = writing.then(fn).then(() => {}));
    const progress = new ProgressItem(call, send);
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    const keepalive = setInterval(
      () => void stream.write(": keepalive\n\n").catch(() => {}),
      DEFAULT_DAEMON_OPTIONS.streamKeepaliveMs,
    );
    // The requester's copy only (both parties may live on this daemon).
    const unsubscribe = d.events.subscribe((e: DaemonEvent) => {
      if (
        e.type === "task_progress" && e.data.task_id === call.taskId && e.agent === call.agent
      ) {
        void serial(() => progress.add(e.data.text as string)).catch(() => {});
      }
    });
    try {
      await serial(() =>
        send("response.created", { response: responseObject(d, call, "in_progress") })
      );
      await serial(() =>
        send("response.in_progress", { response: responseObject(d, call, "in_progress") })
      );
      const o = await awaitOutcome(
        d,
        call.taskId,
        call.requestId,
        call.baseline,
        call.timeoutMs,
        abort.signal,
      );
      unsubscribe();
      await writing;
      if (o.kind === "aborted") return;
      const answer = await finalize(d, call, o);
      const index = await progress.close();
      const text = o.kind === "artifact" ? o : o.kind === "ended" ? o.latest : null;
      const reasoning = progress.item();
      // The final response lists what the stream built: the progress item, then the answer.
      const final = { ...answer, output: [...(reasoning ? [reasoning] : []), ...answer.output] };
      if (final.status === "completed" && text) {
        const ids = { item_id: text.message_id, output_index: index, content_index: 0 };
        await send("response.output_item.added", {
          output_index: index,
          item: outputItem(text, "in_progress"),
        });
        await send("response.content_part.added", { ...ids, part: outputPart("") });
        for (let at = 0; at < text.content.length || at === 0; at += 4096) {
          await send("response.output_text.delta", {
            ...ids,
            delta: text.content.slice(at, at + 4096),
            logprobs: [],
          });
        }
        await send("response.output_text.done", { ...ids, text: text.content, logprobs: [] });
        await send("response.content_part.done", { ...ids, part: outputPart(text.content) });
        await send("response.output_item.done", {
          output_index: index,
          item: outputItem(text, "completed"),
        });
      }
      const type = final.status === "completed"
        ? "response.completed"
        : final.status === "incomplete"
        ? "response.incomplete"
        : "response.failed";
      await send(type, { response: final });
      if (o.kind === "ended" && o.state === "failed" && final.error) {
        // The worker gave up: the official client raises this as an APIError.
        await send("error", { code: final.error.code, message: final.error.message, param: null });
      }
    } catch (err) {
      const e = toOpenAI(err);
      await writing.catch(() => {});
      await send("error", { code: e.code, message: e.message, param: e.param }).catch(() => {});
    } finally {
      unsubscribe();
      clearInterval(keepalive);
    }
  });
}
