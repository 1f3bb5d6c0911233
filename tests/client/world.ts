/** Test world: an in-process relay and daemons, each with its own temp home and ports. */
import { join } from "node:path";
import { type RunningDaemon, startDaemon } from "../../lib/client/mod.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import type { RelayOptions } from "../../lib/relay/mod.ts";
import { startTestRelay, type TestRelay } from "../relay/sim.ts";
import { until } from "../wait.ts";

/** A daemon under test with its SDK client. */
export interface TestDaemon {
  clientId: string;
  home: string;
  token: string;
  /** The relay token this daemon's client uses (kept across restarts). */
  relayToken: string;
  /** The loopback port (kept across restarts). */
  port: number;
  running: RunningDaemon;
  api: TaskferryClient;
  /** Closes and starts again with the same home, port and tokens. */
  restart(): Promise<TestDaemon>;
  /** Starts again after {@link close} (same home, port and tokens). */
  start(): Promise<TestDaemon>;
  close(): Promise<void>;
}

/** Starts a daemon for `clientId` against `relay` (token minted here unless given). */
export async function startTestDaemon(
  relay: { url: string; addClient?: (id: string) => Promise<string> },
  clientId: string,
  opts: {
    home?: string;
    relayToken?: string;
    port?: number;
    relayCaCerts?: string[];
    quarantineMaxBytes?: number;
    /** The daemon's clock (deadlines, expiry); a test moves it instead of sleeping. */
    now?: () => number;
    /** Where attachable files must be (files tests use their temp dir). */
    filesRoot?: string;
  } = {},
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
    relayCaCerts: opts.relayCaCerts,
    quarantineMaxBytes: opts.quarantineMaxBytes,
    now: opts.now,
    filesRoot: opts.filesRoot,
  });
  let closing: Promise<void> | undefined;
  const close = () => closing ??= running.close();
  const start = () =>
    startTestDaemon(relay, clientId, {
      home,
      relayToken,
      port: running.port,
      ...(opts.relayCaCerts ? { relayCaCerts: opts.relayCaCerts } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.filesRoot ? { filesRoot: opts.filesRoot } : {}),
    });
  const daemon: TestDaemon = {
    clientId,
    home,
    token: running.token,
    relayToken,
    port: running.port,
    running,
    api: new TaskferryClient({ url: running.url, token: running.token }),
    restart: async () => {
      await close();
      return await start();
    },
    start,
    // Idempotent, so a test may stop a daemon and the world still close it safely.
    close,
  };
  return daemon;
}

/** Waits until `check` returns a truthy value (polling a local API; bounded). */
export function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  return until("a condition", check, timeoutMs);
}

/** The relay options every world uses (fast redelivery of unacked envelopes). */
export const WORLD_RELAY_OPTIONS = { retryBaseMs: 200 } as const;

/** A relay and two connected daemons: alice (@alice/requester) and bob (@bob/writer). */
export interface World {
  relay: TestRelay;
  alice: TestDaemon;
  bob: TestDaemon;
  /** Starts the relay again after `relay.close()` (same dir, port and database). */
  startRelay(): Promise<TestRelay>;
  close(): Promise<void>;
}

/** Starts the world and connects the two agents (bob accepts with `permissions`). */
export async function startWorld(
  opts: {
    permissions?: Record<string, unknown>;
    now?: () => number;
    /** Files tests: where attachable files must be, and relay file limits. */
    filesRoot?: string;
    relayOptions?: Partial<RelayOptions>;
  } = {},
): Promise<World> {
  const relayOptions = { ...WORLD_RELAY_OPTIONS, ...opts.relayOptions };
  const relay = await startTestRelay(relayOptions);
  const world: World = {
    relay,
    alice: undefined as unknown as TestDaemon,
    bob: undefined as unknown as TestDaemon,
    startRelay: async () =>
      world.relay = await startTestRelay(relayOptions, world.relay.dir, world.relay.port),
    close: async () => {
      await world.alice?.close().catch(() => {});
      await world.bob?.close().catch(() => {});
      await world.relay.close().catch(() => {});
      for (const dir of [world.alice?.home, world.bob?.home, world.relay.dir]) {
        if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
  try {
    const clock = {
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.filesRoot ? { filesRoot: opts.filesRoot } : {}),
    };
    world.alice = await startTestDaemon(relay, "alice", clock);
    world.bob = await startTestDaemon(relay, "bob", clock);
    const { alice, bob } = world;
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
  } catch (err) {
    await world.close();
    throw err;
  }
  return world;
}

export { join };
