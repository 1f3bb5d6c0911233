/** Assembles and serves a daemon: database, core, inbound pipeline, loopback API, timers. */
import { join } from "node:path";
import type { Hono } from "hono";
import { encodeBase64Url, isId, newId, randomBytes } from "../protocol/mod.ts";
import { openDatabase, WalCheckpointer } from "../store/mod.ts";
import { logger } from "../log.ts";
import { daemonApp } from "./api.ts";
import { syncPermissions } from "./connections.ts";
import { mountDashboard } from "./dashboard.ts";
import type { SetupLinks } from "./setup_routes.ts";
import { a2aApp } from "../a2a/mod.ts";
import { Daemon } from "./daemon.ts";
import { defaultFilesRoot } from "./files/service.ts";
import { DEFAULT_DAEMON_OPTIONS } from "./options.ts";
import { CLIENT_MIGRATIONS, DaemonStore } from "./store/mod.ts";
import { useKeyWrapper } from "./store/agents.ts";
import type { KeyWrapper } from "./secrets/wrap.ts";
import { expireDue } from "./tasks/mod.ts";
import { removeDaemonFileIfOwner } from "./home_lock.ts";

const log = logger("daemon");

/** What a daemon needs to start. */
export interface DaemonStartOptions {
  home: string;
  clientId: string;
  dbPath?: string | undefined;
  deviceId?: string | undefined;
  relayUrl?: string | undefined;
  relayToken?: string | undefined;
  localApiToken?: string | undefined;
  hostname?: string | undefined;
  port?: number | undefined;
  /** Serves the owner's dashboard at `/` (default true). */
  dashboard?: boolean | undefined;
  /** How the dashboard's `/setup` reads and saves setup links (lib/client/setup_routes.ts). */
  setupLinks?: SetupLinks | undefined;
  /** Mounts extra routes before the API's auth (after the dashboard's). */
  mount?: ((app: Hono, daemon: Daemon) => void) | undefined;
  linkBackoff?: { minBackoffMs?: number; maxBackoffMs?: number };
  /** Extra trusted CA certificates (PEM) for a relay behind a private CA (tests use this). */
  relayCaCerts?: string[] | undefined;
  /** The daemon's clock (ms since the epoch); tests inject one to move deadlines. */
  now?: (() => number) | undefined;
  /** Total size cap of the quarantine in bytes (default 16 MiB). */
  quarantineMaxBytes?: number | undefined;
  /** Unlocks protected agent keys (lib/client/secrets/protection.ts). */
  keyWrapper?: KeyWrapper | undefined;
  /** Local paths the API and CLI may attach must be inside it (default: the user's home). */
  filesRoot?: string | undefined;
}

/** A running daemon. */
export interface RunningDaemon {
  daemon: Daemon;
  url: string;
  port: number;
  token: string;
  /** The WAL checkpointer of the daemon's database (null in memory); tests read its stats. */
  checkpointer: WalCheckpointer | null;
  close(): Promise<void>;
}

/** The local API token: from options, else `$home/local-token` (created 0600 on first start). */
export function loadLocalToken(home: string, given?: string): string {
  if (given) return given;
  const path = join(home, "local-token");
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const token = `tfl_${encodeBase64Url(randomBytes(32))}`;
  Deno.writeTextFileSync(path, token + "\n", { mode: 0o600, createNew: true });
  Deno.chmodSync(path, 0o600);
  return token;
}

/** Starts a daemon and serves its API. */
export async function startDaemon(opts: DaemonStartOptions): Promise<RunningDaemon> {
  Deno.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  const dbPath = opts.dbPath ?? join(opts.home, "client.db");
  const db = openDatabase(dbPath, CLIENT_MIGRATIONS);
  if (opts.keyWrapper) useKeyWrapper(db, opts.keyWrapper);
  try {
    Deno.chmodSync(dbPath, 0o600);
  } catch {
    // not a plain file (e.g. :memory:)
  }
  const token = loadLocalToken(opts.home, opts.localApiToken);
  const settings = new DaemonStore(db).settings;
  const stored = (key: string) => settings.get(key) ?? undefined;
  const setStored = (key: string, value: string) => settings.set(key, value);
  let deviceId = opts.deviceId ?? stored("device_id");
  if (!deviceId || !isId(deviceId, "dev")) deviceId = newId("dev");
  setStored("device_id", deviceId);
  const storedClient = stored("client_id");
  if (storedClient && storedClient !== opts.clientId) {
    db.close();
    throw new Error(
      `${dbPath} belongs to client '${storedClient}', not '${opts.clientId}'; use another TASKFERRY_HOME or --db`,
    );
  }
  setStored("client_id", opts.clientId);
  // WAL checkpoints in a Worker, not inside whichever commit crosses 1,000 pages on the
  // daemon's event loop (issue 21; the relay does the same).
  const memory = dbPath === ":memory:" || dbPath === "";
  const checkpointer = memory ? null : new WalCheckpointer(db, dbPath);

  const daemon = new Daemon(db, {
    clientId: opts.clientId,
    deviceId,
    relayUrl: opts.relayUrl,
    relayToken: opts.relayToken,
    localApiToken: token,
  }, {
    ...opts.linkBackoff,
    ...(opts.relayCaCerts ? { caCerts: opts.relayCaCerts } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.quarantineMaxBytes ? { quarantineMaxBytes: opts.quarantineMaxBytes } : {}),
    ...(checkpointer ? { onCommit: () => checkpointer.committed() } : {}),
    files: { dir: join(opts.home, "files"), root: opts.filesRoot ?? defaultFilesRoot() },
  });
  const app = daemonApp(daemon, (a) => {
    if (opts.dashboard !== false) mountDashboard(a, daemon, opts.setupLinks);
    // A2A edge (design §15): a translator over this app's own routes, reached in process.
    a.route("/", a2aApp({ fetch: (req) => a.fetch(req) }));
    opts.mount?.(a, daemon);
  });
  const hostname = opts.hostname ?? "127.0.0.1";
  const ac = new AbortController();
  let server: Deno.HttpServer;
  const port = await new Promise<number>((resolve, reject) => {
    try {
      server = Deno.serve({
        hostname,
        port: opts.port ?? 4318,
        signal: ac.signal,
        onListen: ({ port }) => resolve(port),
      }, app.fetch);
    } catch (err) {
      reject(err);
    }
  }).catch(async (err) => {
    await checkpointer?.close();
    db.close();
    throw err;
  });
  const url = `http://${hostname}:${port}`;
  Deno.writeTextFileSync(
    join(opts.home, "daemon.json"),
    JSON.stringify({ url, pid: Deno.pid }) + "\n",
  );
  daemon.start();
  const timer = setInterval(() => {
    try {
      expireDue(daemon);
    } catch (err) {
      log.warn("expiry sweep failed", { err });
    }
    syncPermissions(daemon).catch(() => {});
  }, DEFAULT_DAEMON_OPTIONS.sweepMs);
  log.info("daemon listening", { url, client_id: opts.clientId, device_id: deviceId });
  return {
    daemon,
    url,
    port,
    token,
    checkpointer,
    close: async () => {
      clearInterval(timer);
      await daemon.stop();
      ac.abort();
      await server!.finished;
      await daemon.lock.run(() => Promise.resolve());
      removeDaemonFileIfOwner(opts.home);
      await checkpointer?.close();
      db.close();
    },
  };
}
