/**
 * The offers world (design §13): a relay, a requester daemon and three candidate daemons, one
 * reviewer agent each advertising `review`, all connected to the requester.
 */
import type { TaskView } from "../../lib/protocol/views.ts";
import { startTestRelay, type TestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon, type TestDaemon, WORLD_RELAY_OPTIONS } from "./world.ts";

/** The requester's agent. */
export const BOSS = "@boss/lead";
/** The candidates' agents, one per candidate daemon. */
export const REVIEWERS = ["@c1/rev", "@c2/rev", "@c3/rev"];

/** The running world. */
export interface ClaimsWorld {
  relay: TestRelay;
  boss: TestDaemon;
  candidates: TestDaemon[];
  close(): Promise<void>;
}

/** Starts the world; `now` is the requester's clock. */
export async function startClaimsWorld(
  opts: { now?: () => number; bossRelayUrl?: (relayUrl: string) => string } = {},
): Promise<ClaimsWorld> {
  const relay = await startTestRelay(WORLD_RELAY_OPTIONS);
  const daemons: TestDaemon[] = [];
  const world: ClaimsWorld = {
    relay,
    boss: undefined as unknown as TestDaemon,
    candidates: [],
    close: async () => {
      for (const d of daemons) await d.close().catch(() => {});
      await relay.close().catch(() => {});
      for (const dir of [...daemons.map((d) => d.home), relay.dir]) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
  try {
    // The requester's daemon may reach the relay through something in between (a test proxy).
    const bossRelay = opts.bossRelayUrl
      ? { url: opts.bossRelayUrl(relay.url), addClient: relay.addClient }
      : relay;
    world.boss = await startTestDaemon(bossRelay, "boss", opts.now ? { now: opts.now } : {});
    daemons.push(world.boss);
    await world.boss.api.createAgent({ handle: BOSS });
    for (const handle of REVIEWERS) {
      const d = await startTestDaemon(relay, handle.slice(1, 3));
      daemons.push(d);
      world.candidates.push(d);
      await d.api.createAgent({ handle, capabilities: ["review"], public: true });
    }
    await eventually(async () => {
      for (const d of daemons) if (!(await d.api.health()).relay.connected) return false;
      return true;
    });
    for (const [i, handle] of REVIEWERS.entries()) {
      const d = world.candidates[i]!;
      await world.boss.api.connect({ from: BOSS, to: handle });
      await d.api.waitForInbox(handle, (m) => m.type === "connection_request");
      await d.api.acceptConnection(BOSS);
      await eventually(async () =>
        (await world.boss.api.connections(BOSS)).some((c) =>
          c.peer === handle && c.state === "connected"
        )
      );
    }
  } catch (err) {
    await world.close();
    throw err;
  }
  return world;
}

/** `POST /v1/tasks` with a free-form `to` (one handle, several, or `cap:NAME`). */
export async function offer(
  d: TestDaemon,
  to: string | string[],
  title: string,
  extra: Record<string, unknown> = {},
): Promise<TaskView> {
  const body = { from: BOSS, to, title, instructions: "review it", ...extra };
  return (await d.api.request<{ task: TaskView }>("POST", "/v1/tasks", body)).task;
}

/** `POST /v1/tasks/{id}/claim` for `agent`. */
export async function claim(d: TestDaemon, id: string, agent: string): Promise<TaskView> {
  return (await d.api.request<{ task: TaskView }>("POST", `/v1/tasks/${id}/claim`, { agent }))
    .task;
}

/** The task as daemon `d` sees it. */
export async function view(d: TestDaemon, id: string): Promise<TaskView> {
  return (await d.api.task(id)).task;
}
