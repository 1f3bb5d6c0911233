/** `taskferry relay`: run the relay, and the operator's client-management verbs. */
import { dirname, join } from "node:path";
import { canonicalClientId, isOwner, TaskferryError } from "../protocol/mod.ts";
import { DEFAULT_PG_POOL_SIZE, openPgRelayStore } from "../relay/pg_store.ts";
import { DiskBlobStore, PgBlobStore } from "../relay/blobs/mod.ts";
import {
  DEFAULT_RELAY_OPTIONS,
  openSqliteRelayStore,
  type RelayOptions,
  type RelayStore,
  startRelay,
} from "../relay/mod.ts";
import { type RelayTlsFiles, TlsFilesError } from "../relay/server.ts";
import { logger, setLogFormat } from "../log.ts";
import { ensurePrivateHome, setPrivateUmask } from "../store/mod.ts";
import { resolveRelayConfig } from "./relay_config.ts";
import { listClients, startBanner } from "./relay_clients.ts";
import { rememberPublicUrl } from "./relay_public_url.ts";
import { issueToken } from "./relay_tokens.ts";
import { RELAY_TLS_SETTINGS, watchTlsReload } from "./relay_tls.ts";
import { runBackup } from "./backup.ts";
import { applyGoClientTokens } from "./go/client_tokens.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { flagOptions, LOG_FORMAT_SETTING, type Setting, settingsHelp } from "./settings.ts";

const log = logger("relay");
/** Flags only the verbs that print a setup link accept (relay_public_url.ts). */
const LINK_FLAGS = { "allow-loopback-link": { type: "boolean" } } as const;

/** Every relay setting: flag = env = config-file key (section "relay"). */
export const RELAY_SETTINGS: readonly Setting[] = [
  {
    flag: "addr",
    env: "TASKFERRY_RELAY_ADDR",
    key: "addr",
    kind: "addr",
    default: "127.0.0.1:8080",
    help: "Address to listen on",
  },
  {
    flag: "db",
    env: "TASKFERRY_RELAY_DB",
    key: "db",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/relay.db",
    help: "SQLite database file, or a postgres:// URL to share one database among several relays",
  },
  {
    flag: "db-pool-size",
    env: "TASKFERRY_DB_POOL_SIZE",
    key: "db_pool_size",
    kind: "int",
    default: String(DEFAULT_PG_POOL_SIZE),
    min: 1,
    max: 1000,
    help: "PostgreSQL connections in each relay node's pool (SQLite ignores it)",
  },
  {
    flag: "public-url",
    env: "TASKFERRY_RELAY_PUBLIC_URL",
    key: "public_url",
    kind: "url",
    defaultLabel: "http://<addr>",
    help: "URL daemons and browsers use to reach this relay (behind TLS: https://…)",
  },
  {
    flag: "open-signup",
    env: "TASKFERRY_RELAY_OPEN_SIGNUP",
    key: "open_signup",
    kind: "boolean",
    default: "false",
    help: "Let anyone create a client on the signup page",
  },
  {
    flag: "max-envelope-bytes",
    env: "TASKFERRY_RELAY_MAX_ENVELOPE_BYTES",
    key: "max_envelope_bytes",
    kind: "int",
    default: String(DEFAULT_RELAY_OPTIONS.maxEnvelopeBytes),
    min: 1024,
    max: 64 * 1024 * 1024,
    help: "Largest envelope accepted, in bytes",
  },
  {
    flag: "retention",
    env: "TASKFERRY_RELAY_RETENTION",
    key: "retention",
    kind: "duration",
    default: "7d",
    min: 60_000,
    help: "How long an undelivered envelope waits before the sender gets 'failed'",
  },
  {
    flag: "delivered-retention",
    env: "TASKFERRY_RELAY_DELIVERED_RETENTION",
    key: "delivered_retention",
    kind: "duration",
    default: "1d",
    min: 0,
    help: "How long delivered envelopes are kept before pruning",
  },
  {
    flag: "clock-skew",
    env: "TASKFERRY_RELAY_CLOCK_SKEW",
    key: "clock_skew",
    kind: "duration",
    default: "5m",
    min: 1000,
    help: "Largest accepted difference between created_at and the relay's clock",
  },
  {
    flag: "rate-limit",
    env: "TASKFERRY_RELAY_RATE_LIMIT",
    key: "rate_limit",
    kind: "int",
    default: String(DEFAULT_RELAY_OPTIONS.clientRatePerMinute),
    min: 1,
    help: "Envelopes per minute per client (all its agents together)",
  },
  {
    flag: "connection-rate-limit",
    env: "TASKFERRY_RELAY_CONNECTION_RATE_LIMIT",
    key: "connection_rate_limit",
    kind: "int",
    default: String(DEFAULT_RELAY_OPTIONS.connectionRequestsPerMinute),
    min: 1,
    help: "Connection requests per minute per agent",
  },
  ...RELAY_TLS_SETTINGS,
  LOG_FORMAT_SETTING,
  {
    flag: "max-agents-per-client",
    env: "TASKFERRY_RELAY_MAX_AGENTS_PER_CLIENT",
    key: "max_agents_per_client",
    kind: "int",
    default: String(DEFAULT_RELAY_OPTIONS.maxAgentsPerClient),
    min: 1,
    help: "Agents one client may register",
  },
  {
    flag: "max-file-bytes",
    env: "TASKFERRY_RELAY_MAX_FILE_BYTES",
    key: "max_file_bytes",
    kind: "int",
    default: String(DEFAULT_RELAY_OPTIONS.maxFileBytes),
    min: 0,
    help: "Largest file (plaintext bytes) a client may upload",
  },
  {
    flag: "blob-quota-bytes",
    env: "TASKFERRY_RELAY_BLOB_QUOTA_BYTES",
    key: "blob_quota_bytes",
    kind: "int",
    default: String(DEFAULT_RELAY_OPTIONS.blobQuotaBytes),
    min: 0,
    help: "Encrypted file bytes one client may keep on the relay at once",
  },
  {
    flag: "config",
    env: "TASKFERRY_CONFIG",
    key: "config",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/config.json if present",
    help: 'JSON config file; relay keys go under "relay"',
  },
];

const SUBCOMMANDS = `Operator commands (work on the database directly; safe while the relay runs):
  taskferry relay add-client NAME [--json]   create a client; prints its id, token (once) and a
                                             taskferry://…/setup link for its daemon
  taskferry relay list-clients [--json]      list clients: created, last seen (newest send, ack
                                             or agent registration on record), revoked
  taskferry relay revoke-client NAME         revoke a client (its sessions and token stop working)
  taskferry relay rotate-token NAME [--json] issue a new token; the old one stops working
  taskferry relay backup FILE [--json]       online, consistent copy of the SQLite database
  They accept --db, --public-url and --config like the server.
  Setup links use --public-url, else the URL the relay last started with (kept in its database);
  a loopback link for a relay that has a public URL needs --allow-loopback-link.
  TASKFERRY_RELAY_CLIENT_TOKENS=alice=TOKEN,…  (the Go relay's name) creates or updates those
                                             clients at start; see docs/migrating.md`;

/** `taskferry relay` */
export const relayCommand: Command = {
  name: "relay",
  summary: "Run the relay server, or manage its clients",
  help: `Usage: taskferry relay [options]
       taskferry relay <add-client|list-clients|revoke-client|rotate-token|backup> [NAME|FILE] [options]

Runs the relay: it routes sealed envelopes between daemons and never sees plaintext.
Settings come from flags, then environment variables, then the config file, then defaults.

Options:
${settingsHelp(RELAY_SETTINGS)}

${SUBCOMMANDS}

Examples:
  taskferry relay
  taskferry relay --addr 0.0.0.0:8080 --public-url https://relay.example.com
  TASKFERRY_RELAY_DB=/var/lib/taskferry/relay.db taskferry relay
  taskferry relay add-client alice --public-url https://relay.example.com
`,
  async run(args) {
    const sub = args[0] && !args[0].startsWith("-") ? args[0] : null;
    const rest = sub ? args.slice(1) : args;
    const parsed = parseFlags("relay", rest, {
      ...flagOptions(RELAY_SETTINGS),
      json: { type: "boolean" },
      ...(sub === "add-client" || sub === "rotate-token" ? LINK_FLAGS : {}),
    }, sub !== null);
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const positionals = parsed.positionals;
    const { home, s, addr, dbPath, tls, publicUrl } = resolveRelayConfig(RELAY_SETTINGS, values);
    if (s["log-format"]) setLogFormat(s["log-format"] as "text" | "json");
    const json = values.json === true;
    const givenUrl = s["public-url"] as string | undefined;

    if (sub === null) {
      if (json) {
        throw new UsageError("--json is for the operator commands (see: taskferry help relay)");
      }
      // Only TaskFerry's own home is made private wholesale; a --db elsewhere gets its files fixed.
      if (dirname(dbPath) === home) ensurePrivateHome(home);
      return await serve(
        dbPath,
        s["db-pool-size"] as number,
        addr,
        tls,
        s["behind-proxy"] === true,
        {
          maxEnvelopeBytes: s["max-envelope-bytes"] as number,
          retentionMs: s.retention as number,
          deliveredRetentionMs: s["delivered-retention"] as number,
          clockSkewMs: s["clock-skew"] as number,
          clientRatePerMinute: s["rate-limit"] as number,
          connectionRequestsPerMinute: s["connection-rate-limit"] as number,
          maxAgentsPerClient: s["max-agents-per-client"] as number,
          maxFileBytes: s["max-file-bytes"] as number,
          blobQuotaBytes: s["blob-quota-bytes"] as number,
          publicUrl,
          openSignup: s["open-signup"] as boolean,
        },
        givenUrl,
      );
    }
    if (sub === "backup") return runBackup(dbPath, positionals[0], json);
    const name = positionals[0] && (canonicalClientId(positionals[0]) ?? positionals[0]);
    const needsName = sub !== "list-clients";
    if (needsName && (!name || positionals.length > 1)) {
      throw new UsageError(`relay ${sub} takes one NAME (see: taskferry help relay)`);
    }
    if (needsName && !isOwner(name)) {
      throw new UsageError(
        `invalid client name '${name}': use lowercase a-z, 0-9, '_' and '-', 1-32 chars`,
      );
    }
    const store = await openRelayStore(dbPath);
    try {
      switch (sub) {
        case "add-client":
        case "rotate-token":
          return await issueToken(store, name!, sub === "rotate-token", json, {
            given: givenUrl,
            derived: publicUrl,
            allowLoopback: values["allow-loopback-link"] === true,
          });
        case "revoke-client": {
          const ok = await store.revokeClient(name!, Date.now());
          if (!ok) {
            console.error(`taskferry: no active client '${name}'`);
            return 1;
          }
          console.log(
            json ? JSON.stringify({ client_id: name, revoked: true }) : `revoked ${name}`,
          );
          return 0;
        }
        case "list-clients":
          return await listClients(store, json);
        default:
          throw new UsageError(`unknown relay command '${sub}' (see: taskferry help relay)`);
      }
    } finally {
      await store.close();
    }
  },
};

async function serve(
  dbPath: string,
  poolSize: number,
  addr: { hostname: string; port: number },
  tls: RelayTlsFiles | undefined,
  behindProxy: boolean,
  options: Partial<RelayOptions>,
  givenPublicUrl: string | undefined,
): Promise<number> {
  if (!/^(127\.|localhost$|::1$)/.test(addr.hostname) && !tls && !behindProxy) {
    log.warn(
      "INSECURE: listening on a non-loopback address over plain HTTP; relay tokens cross the " +
        "network in clear. Serve TLS (--tls-cert/--tls-key) or put a TLS proxy in front and set " +
        "--behind-proxy",
      { addr: `${addr.hostname}:${addr.port}` },
    );
  }
  // The database, its sidecars and the home are private to the relay's user (docs/security.md).
  setPrivateUmask();
  const store = await openRelayStore(dbPath, poolSize);
  let running;
  let blobs;
  try {
    // Files (design §12): a chunk table in PostgreSQL (any node serves any blob), else chunk
    // files beside the SQLite database.
    blobs = isPostgresUrl(dbPath)
      ? await PgBlobStore.open(dbPath, { max: poolSize })
      : await DiskBlobStore.open(join(dirname(dbPath), "blobs"));
    await applyGoClientTokens(store, Deno.env.toObject()); // Go names: docs/migrating.md
    options.publicUrl = await rememberPublicUrl(store, givenPublicUrl, options.publicUrl!);
    const where = { hostname: addr.hostname, port: addr.port };
    running = await startRelay({ store, ...where, options, tls, blobs });
  } catch (err) {
    await store.close();
    await blobs?.close();
    if (err instanceof TlsFilesError) {
      throw new UsageError(`${err.message}; check --tls-cert/--tls-key`);
    }
    if (err instanceof Deno.errors.AddrInUse) {
      console.error(`taskferry: ${addr.hostname}:${addr.port} is in use; pick another with --addr`);
      return 1;
    }
    throw err;
  }
  // Signal handlers first: whoever reads the line below may signal at once.
  const unwatch = watchTlsReload(running);
  const signalled = waitForSignal();
  console.log(`taskferry relay listening on ${running.url} (public URL ${options.publicUrl})`);
  console.log(
    await startBanner(store, isPostgresUrl(dbPath) ? redactUrl(dbPath) : dbPath, options),
  );
  await signalled;
  unwatch();
  log.info("shutting down");
  await running.close();
  return 0;
}

/** True when `db` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

/**
 * Opens the relay store `db` names: a PostgreSQL URL (with a pool of `poolSize` connections),
 * or a SQLite file (created with its dir).
 */
export async function openRelayStore(db: string, poolSize?: number): Promise<RelayStore> {
  if (isPostgresUrl(db)) {
    try {
      return await openPgRelayStore(db, poolSize === undefined ? {} : { poolSize });
    } catch (err) {
      if (err instanceof TaskferryError) throw err;
      throw new UsageError(
        `cannot open PostgreSQL database ${redactUrl(db)}: ${(err as Error).message}; check --db`,
      );
    }
  }
  Deno.mkdirSync(dirname(db), { recursive: true, mode: 0o700 });
  return openSqliteRelayStore(db);
}

/** A database URL without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

/** Resolves on the first SIGINT or SIGTERM. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  });
}
