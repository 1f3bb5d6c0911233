/**
 * The owner blocks (and disconnects) a peer: from then on the daemon drops everything the peer
 * sends to the blocked local agent — messages, tasks, receipts and new connection requests —
 * before verifying or storing it (lib/client/inbound.ts), our agent can no longer send to it,
 * and the relay is told through the permissions it already enforces (nothing may be sent), so
 * the peer's envelopes are refused at the relay while the relay's connection stays. Unblocking
 * forgets the row: the peer may ask for a connection again.
 */
import { fail, type Permissions } from "../protocol/mod.ts";
import type { ConnectionView } from "../protocol/views.ts";
import type { Daemon } from "./daemon.ts";
import { syncPermissions } from "./connections.ts";
import { connectionView } from "./views.ts";

/** What the relay is told a blocked peer may send: nothing it checks. */
export const BLOCKED_PERMISSIONS: Permissions = {
  can_message: false,
  can_send_task: false,
  can_send_artifact: false,
  max_rate_per_minute: 1,
  max_open_tasks: 0,
  require_human_gate: true,
};

/** The local agents an owner's block or unblock of `peer` is about. */
function targets(d: Daemon, peer: string, agent: string | undefined): string[] {
  if (d.keyring.isLocal(peer)) {
    throw fail("validation_failed", `${peer} is an agent of this daemon`);
  }
  if (agent) {
    d.keyring.require(agent);
    return [agent];
  }
  const withPeer = d.store.connections.agentsWith(peer);
  return withPeer.length ? withPeer : d.keyring.handles();
}

/**
 * Blocks `peer` for `agent` (default: every local agent that has a connection row with it,
 * else every local agent, so a stranger can be blocked before it writes).
 */
export async function blockPeer(
  d: Daemon,
  peer: string,
  agent?: string,
): Promise<ConnectionView[]> {
  const agents = targets(d, peer, agent);
  if (agents.length === 0) throw fail("unknown_agent", "this daemon has no agents yet");
  const now = d.nowIso();
  d.store.transaction(() => {
    for (const a of agents) {
      const row = d.store.connections.between(a, peer);
      d.store.connections.upsert({
        agent: a,
        peer,
        state: "blocked",
        request_id: row?.request_id ?? null,
        note: row?.note ?? null,
        permissions: JSON.stringify(BLOCKED_PERMISSIONS),
        // Only a connection the relay knows has permissions to take away there.
        permissions_synced: row?.state === "connected" ? 0 : 1,
        created_at: row?.created_at ?? now,
        updated_at: now,
      });
    }
  });
  for (const a of agents) d.events.emit("connection", { agent: a, peer, state: "blocked" }, a);
  await syncPermissions(d).catch(() => {});
  return agents.map((a) =>
    connectionView(d.store.connections.between(a, peer)!, d.peers.get(peer))
  );
}

/** Lifts a block of `peer` (for `agent`, default every local agent that blocked it). */
export function unblockPeer(d: Daemon, peer: string, agent?: string): { unblocked: string[] } {
  const agents = targets(d, peer, agent).filter((a) => d.store.connections.isBlocked(a, peer));
  if (agents.length === 0) throw fail("not_found", `${peer} is not blocked`);
  for (const a of agents) {
    d.store.connections.deleteBlocked(a, peer);
    d.events.emit("connection", { agent: a, peer, state: "unblocked" }, a);
  }
  return { unblocked: agents };
}
