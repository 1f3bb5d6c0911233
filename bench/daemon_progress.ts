/**
 * Daemon suite, issue 15: a worker's progress line on its way to the requester. Bob (the worker)
 * posts `POST /v1/tasks/{id}/progress` on his daemon; the clock stops when alice's daemon emits
 * the line as a `task_progress` event on `GET /v1/events` (the stream her dashboard, or a
 * streaming `POST /v1/responses`, reads). Sequential, through the relay, in this process.
 * @module
 */
import type { TaskferryClient } from "../lib/sdk/mod.ts";
import type { BenchOptions, BenchRow } from "./main.ts";
import { EventWatch } from "./event_watch.ts";

/** `task_progress` events of one agent's stream, by message id (time of arrival). */
class ProgressEvents extends EventWatch {
  constructor(url: string, token: string, agent: string) {
    super(url, token, agent, (e, data) => e === "task_progress" ? String(data.message_id) : null);
  }

  /** The time (performance.now) the event for progress message `id` arrived. */
  arrived(id: string): Promise<number> {
    return this.when(id);
  }
}

/** What the measurement needs from the daemon suite's world. */
interface World {
  alice: { running: { url: string; token: string }; api: TaskferryClient };
  bob: { api: TaskferryClient };
}

/** Progress posted by the worker → seen in the requester's SSE, sequential. */
export async function progressLatency(
  world: World,
  handles: { requester: string; worker: string },
  opts: BenchOptions,
  summarize: (values: number[]) => string,
): Promise<BenchRow> {
  const { requester, worker } = handles;
  const events = new ProgressEvents(world.alice.running.url, world.alice.running.token, requester);
  try {
    await events.ready;
    const created = await world.alice.api.createTask({
      from: requester,
      to: worker,
      title: "benchmark task",
      instructions: "report progress",
    });
    const id = created.task.id;
    await world.bob.api.waitForInbox(worker, (m) => m.task_id === id && m.type === "task_request");
    await world.bob.api.acceptTask(id, { agent: worker });
    await world.alice.api.waitForTask(id, { states: ["accepted"] });
    const line = "compiling module 42 of 120: lib/client/tasks/progress.ts ".repeat(2);
    const one = async () => {
      const start = performance.now();
      const sent = await world.bob.api.progress(id, line, { agent: worker });
      return (await events.arrived(sent.message.id)) - start;
    };
    for (let i = 0; i < 20; i++) await one(); // warm-up
    const count = opts.quick ? 100 : 300;
    const seen: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < count; i++) seen.push(await one());
    const seconds = (performance.now() - t0) / 1000;
    return {
      suite: "daemon",
      name: "POST /v1/tasks/{id}/progress (worker) → requester's task_progress event (SSE), " +
        "sequential",
      runs: count,
      seconds,
      rate: count / seconds,
      note: summarize(seen),
    };
  } finally {
    await events.close();
  }
}
