/**
 * Presence (lib/relay/presence.ts) when a session ends while its `presence` frame is still being
 * checked or reported: the frame must not bring the session's agents back online, on this node
 * or on the others. Seen in CI as a peer that stayed online after its daemon stopped.
 */
import { assertEquals } from "../assert.ts";
import { Presence, type PresenceSession } from "../../lib/relay/presence.ts";
import type { RelayStore } from "../../lib/relay/store.ts";
import type { PresenceFrame } from "../../lib/protocol/mod.ts";

/** A store whose agent look-ups and presence reports wait until released. */
function world() {
  const reports: { agent: string; online: boolean }[] = [];
  let lookups = Promise.withResolvers<void>();
  let reporting: PromiseWithResolvers<void> | null = null;
  const store = {
    getAgent: async (handle: string) => {
      await lookups.promise;
      return { handle, client_id: handle.slice(1, handle.indexOf("/")) };
    },
    clientLinkedTo: () => Promise.resolve(true),
    cluster: {
      notifyPresence: async (payload: string) => {
        const { agent, online } = JSON.parse(payload);
        reports.push({ agent, online });
        const held = reporting;
        reporting = null;
        if (held) await held.promise;
      },
    },
  } as unknown as RelayStore;
  return {
    presence: new Presence(store, "node-a"),
    reports,
    release: () => lookups.resolve(),
    holdLookups: () => lookups = Promise.withResolvers<void>(),
    /** Holds the next report (only that one) until the returned release is called. */
    holdNextReport: () => {
      const held = Promise.withResolvers<void>();
      reporting = held;
      return () => held.resolve();
    },
  };
}

function session(clientId: string): PresenceSession & { frames: PresenceFrame[] } {
  const frames: PresenceFrame[] = [];
  return { clientId, frames, send: (f) => (frames.push(f), true) };
}

Deno.test("presence: a frame still being checked when its session ends changes nothing", async () => {
  const w = world();
  const c1 = session("c1");
  const watcher = session("boss");
  w.release();
  await w.presence.announce(watcher, { agents: [], watch: ["@c1/a"] });
  w.holdLookups();
  const announcing = w.presence.announce(c1, { agents: ["@c1/a"], watch: [] });
  await w.presence.left(c1);
  w.release();
  await announcing;
  assertEquals(w.reports, [], "never reported online");
  assertEquals(watcher.frames.map((f) => f.online), [false], "the watcher saw it offline only");
  // Watched again: still offline.
  await w.presence.announce(watcher, { agents: [], watch: ["@c1/a"] });
  assertEquals(watcher.frames.at(-1)?.online, false);
});

Deno.test("presence: a session ending mid-report leaves every agent offline on the other nodes", async () => {
  const w = world();
  const c1 = session("c1");
  w.release();
  const releaseFirst = w.holdNextReport();
  const announcing = w.presence.announce(c1, { agents: ["@c1/a", "@c1/b"], watch: [] });
  // The first report (a online) is on its way; the session ends now, and its reports go out.
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(w.reports, [{ agent: "@c1/a", online: true }]);
  await w.presence.left(c1);
  releaseFirst();
  await announcing;
  // Per agent, the last report is the one other nodes keep: both offline.
  const last = new Map(w.reports.map((r) => [r.agent, r.online]));
  assertEquals(Object.fromEntries(last), { "@c1/a": false, "@c1/b": false });
});
