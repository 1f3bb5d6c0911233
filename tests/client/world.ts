/** Test world: an in-process relay and daemons, each with its own temp home and ports. */
import { join } from "node:path";
import { type RunningDaemon, startDaemon } from "../../lib/client/mod.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import { startTestRelay, type TestRelay } from "../relay/sim.ts";

/** A daemon under test with its SDK client. */
export interface TestDaemon {
  clientId: string;
  home: string;
  token: string;
  running: RunningDaemon;
  api: TaskferryClient;
  restart(): Promise<TestDaemon>;
  close(): Promise<void>;
}

/** Starts a daemon for `clientId` against `relay` (token minted here unless given). */
export async function startTestDaemon(
  relay: { url: string; addClient?: (id: string) => Promise<string> },
  clientId: string,
  opts: { home?: string; relayToken?: string; port?: number } = {},
): Promise<TestDaemon> {
  const home = opts.home ?? await Deno.makeTempDir({ prefix: `tf-${clientId}-` });
  const relayToken = opts.relayToken ?? await relay.addClient!(clientId);
  const running = await startDaemon({
    home,
    clientId,
    relayUrl: relay.url,
    relayToken,
    port: opts.port ?? 0,
    linkBackoff: { minBackoffMs: 20, maxBackoffMs: 200 },
  });
  const daemon: TestDaemon = {
    clientId,
    home,
    token: running.token,
    running,
    api: new TaskferryClient({ url: running.url, token: running.token }),
    restart: async () => {
      await running.close();
      return await startTestDaemon(relay, clientId, { home, relayToken, port: running.port });
    },
    close: () => running.close(),
  };
  return daemon;
}

/** Waits until `check` returns a truthy value (polling a local API; bounded). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}

/** A relay and two connected daemons: alice (@alice/requester) and bob (@bob/writer). */
export interface World {
  relay: TestRelay;
  alice: TestDaemon;
  bob: TestDaemon;
  close(): Promise<void>;
}

/** Starts the world and connects the two agents (bob accepts with `permissions`). */
export async function startWorld(
  opts: { permissions?: Record<string, unknown> } = {},
): Promise<World> {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const alice = await startTestDaemon(relay, "alice");
  const bob = await startTestDaemon(relay, "bob");
  await alice.api.createAgent({ handle: "@alice/requester" });
  await bob.api.createAgent({ handle: "@bob/writer", public: true });
  await eventually(async () =>
    (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
  );
  await alice.api.connect({ from: "@alice/requester", to: "@bob/writer", note: "let's work" });
  await bob.api.waitForInbox("@bob/writer", (m) => m.type === "connection_request");
  await bob.api.acceptConnection(
    "@alice/requester",
    opts.permissions ? { permissions: opts.permissions } : {},
  );
  await alice.api.waitForInbox("@alice/requester", (m) => m.type === "connection_accept");
  const world: World = {
    relay,
    alice,
    bob,
    close: async () => {
      await world.alice.close().catch(() => {});
      await world.bob.close().catch(() => {});
      await world.relay.close().catch(() => {});
    },
  };
  return world;
}

export { join };
