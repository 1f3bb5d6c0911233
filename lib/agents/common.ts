/**
 * Demo agents are state-driven: each round reads the daemon's state, does what is due, then
 * long-polls the inbox for the next change. That makes them correct after a restart at any
 * point (they re-derive what to do) and idle without busy polling.
 */
import { ApiError, TaskferryClient } from "../sdk/mod.ts";

/** What an agent run needs. */
export interface AgentRunOptions {
  api: TaskferryClient;
  handle: string;
  /** Called with one line per action (for logs / the demo). */
  log?: (line: string) => void;
  /** Stop when aborted. */
  signal?: AbortSignal;
  /** Long-poll wait per round, seconds. */
  waitSeconds?: number;
}

/** Codes that mean "already done / no longer applicable": safe to ignore on a retry. */
const SETTLED = [
  "illegal_transition",
  "artifact_version_mismatch",
  "connection_not_pending",
  "max_revisions_reached",
];

/** Runs `action`, ignoring refusals that mean the step already happened. */
export async function idempotent(action: () => Promise<unknown>): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (err) {
    if (err instanceof ApiError && SETTLED.includes(err.code)) return false;
    throw err;
  }
}

/** What a round did: finished the agent's work, acted (so look again), or nothing. */
export type RoundResult = "done" | "acted" | "idle";

/**
 * The agent loop: `round()` does what is due. After "acted" it looks again at once (its own
 * action changed the state); after "idle" it waits for a new inbox item or the wait timeout.
 */
export async function agentLoop(
  opts: AgentRunOptions,
  round: () => Promise<RoundResult>,
): Promise<void> {
  const wait = opts.waitSeconds ?? 25;
  let after = (await opts.api.inbox({ agent: opts.handle, after: "latest" })).next_after;
  while (!opts.signal?.aborted) {
    const result = await round();
    if (result === "done") return;
    if (result === "acted") continue;
    const page = await opts.api.inbox({ agent: opts.handle, after, wait }, opts.signal).catch(
      (err) => {
        if (opts.signal?.aborted) return null;
        throw err;
      },
    );
    if (!page) return;
    after = page.next_after;
  }
}

/** Checks the daemon is reachable and the agent exists (creating it when asked). */
export async function ensureAgent(api: TaskferryClient, handle: string, create: boolean) {
  const agents = await api.agents();
  if (agents.some((a) => a.handle === handle)) return;
  if (!create) {
    throw new ApiError(
      404,
      "unknown_agent",
      `${handle} is not an agent of this daemon (or not the one this agent token acts as)`,
    );
  }
  await api.createAgent({ handle, public: true, description: "TaskFerry demo agent" });
}

/**
 * A client that acts as `handle` only (design §14): the owner's client issues a fresh agent
 * token labelled `label`, revoking the ones an earlier run left under that label.
 */
export async function agentClient(
  owner: TaskferryClient,
  handle: string,
  label: string,
): Promise<TaskferryClient> {
  for (const t of await owner.agentTokens(handle)) {
    if (t.label === label) await owner.revokeAgentToken(t.id);
  }
  const { token } = await owner.issueAgentToken(handle, label);
  return new TaskferryClient({ url: owner.url, token });
}
