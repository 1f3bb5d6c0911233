/** `taskferry client`: run the local daemon. */
import { join } from "node:path";
import { isId, isOwner } from "../protocol/mod.ts";
import { startDaemon } from "../client/mod.ts";
import { acquireHomeLock, HomeLockedError } from "../client/home_lock.ts";
import { ensurePrivateHome, setPrivateUmask } from "../store/mod.ts";
import { setLogFormat } from "../log.ts";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { waitForSignal } from "./relay.ts";
import {
  flagOptions,
  LOG_FORMAT_SETTING,
  parseAddr,
  readConfigSection,
  resolveSettings,
  type Setting,
  settingsHelp,
  taskferryHome,
} from "./settings.ts";
import { parseSetupLink, readSavedSetup, readSetupArg, saveSetup } from "./setup_link.ts";

/** Every daemon setting: flag = env = config-file key (section "client"). */
export const CLIENT_SETTINGS: readonly Setting[] = [
  {
    flag: "addr",
    env: "TASKFERRY_CLIENT_ADDR",
    key: "addr",
    kind: "addr",
    default: "127.0.0.1:4318",
    help: "Loopback address of the API and dashboard (port 0 picks a free one)",
  },
  {
    flag: "client-id",
    env: "TASKFERRY_CLIENT_ID",
    key: "client_id",
    kind: "string",
    help: "This daemon's relay client id (its namespace @<client-id>/…)",
  },
  {
    flag: "relay-url",
    env: "TASKFERRY_RELAY_URL",
    key: "relay_url",
    kind: "url",
    help: "Relay base URL, http(s); the WebSocket URL is derived",
  },
  {
    flag: "relay-token",
    env: "TASKFERRY_RELAY_TOKEN",
    key: "relay_token",
    kind: "string",
    help: "Relay client token (from `taskferry relay add-client`)",
  },
  {
    flag: "device-id",
    env: "TASKFERRY_DEVICE_ID",
    key: "device_id",
    kind: "string",
    defaultLabel: "generated on first start and kept",
    help: "This installation's device id (dev_<ULID>)",
  },
  {
    flag: "db",
    env: "TASKFERRY_CLIENT_DB",
    key: "db",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/client.db",
    help: "SQLite database with keys and history",
  },
  {
    flag: "local-api-token",
    env: "TASKFERRY_LOCAL_API_TOKEN",
    key: "local_api_token",
    kind: "string",
    defaultLabel: "generated into $TASKFERRY_HOME/local-token (0600)",
    help: "Bearer token local agents send to the API",
  },
  {
    flag: "setup",
    env: "TASKFERRY_SETUP_URL",
    key: "setup",
    kind: "string",
    meta: "-|@FILE|LINK",
    help: "The taskferry://…/setup link from the relay operator, read from stdin (-) or a file " +
      "(@FILE) so its token stays out of ps and shell history; saved for later starts",
  },
  {
    flag: "home",
    env: "TASKFERRY_HOME",
    key: "home",
    kind: "path",
    default: undefined,
    defaultLabel: "~/.taskferry",
    help: "Data directory",
  },
  {
    flag: "config",
    env: "TASKFERRY_CONFIG",
    key: "config",
    kind: "path",
    defaultLabel: "$TASKFERRY_HOME/config.json if present",
    help: 'JSON config file; daemon keys go under "client"',
  },
  LOG_FORMAT_SETTING,
];

export { parseSetupLink, readSavedSetup, type SetupLink } from "./setup_link.ts";

/** `taskferry client` */
export const clientCommand: Command = {
  name: "client",
  summary: "Run the local daemon (keys, loopback API, dashboard, relay link)",
  help: `Usage: taskferry client [options]

Runs the daemon: the owner's trust boundary on this machine. It holds the agents' private
keys, seals and opens envelopes, keeps readable history in SQLite and serves the loopback API
(and dashboard) on 127.0.0.1. Settings: flag > environment > config file > saved setup > default.

Options:
${settingsHelp(CLIENT_SETTINGS)}

Only one daemon runs per home: a second start on the same home exits at once, naming the
running daemon's pid and address. Files in the home are private (directory 0700, files 0600).

Examples:
  taskferry client --setup - < setup-link.txt        (or paste the link when asked)
  taskferry client --setup @/run/secrets/taskferry-setup
  TASKFERRY_RELAY_URL=https://relay.example.com TASKFERRY_CLIENT_ID=alice \\
    TASKFERRY_RELAY_TOKEN=tfr.alice.… taskferry client
  taskferry client --addr 127.0.0.1:0 --home /tmp/alice
`,
  async run(args) {
    const parsed = parseFlags("client", args, flagOptions(CLIENT_SETTINGS));
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const env = Deno.env.toObject();
    const home = (values.home as string | undefined) ?? taskferryHome(env);
    const configPath = (values.config as string | undefined) ?? env.TASKFERRY_CONFIG;
    const file = readConfigSection(configPath ?? join(home, "config.json"), "client", !!configPath);
    const s = resolveSettings(CLIENT_SETTINGS, values, env, file, configPath ?? "config file");
    if (s["log-format"]) setLogFormat(s["log-format"] as "text" | "json");
    // Everything this process creates in the home (databases and their sidecars, tokens,
    // daemon.json) is private to the user; a home an older version left open is fixed, loudly.
    setPrivateUmask();
    Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
    ensurePrivateHome(home);
    if (s.setup) {
      const fromFlag = typeof values.setup === "string";
      saveSetup(home, parseSetupLink(await readSetupArg(s.setup as string, fromFlag)));
    }
    const saved = readSavedSetup(home);
    const clientId = (s["client-id"] as string | undefined) ?? saved.client_id;
    const relayUrl = (s["relay-url"] as string | undefined) ?? saved.relay_url;
    const relayToken = (s["relay-token"] as string | undefined) ?? saved.relay_token;
    if (!clientId) {
      throw new UsageError(
        "no client id: set TASKFERRY_CLIENT_ID (or --client-id), or start once with --setup LINK",
      );
    }
    if (!isOwner(clientId)) {
      throw new UsageError(`invalid client id '${clientId}': lowercase a-z, 0-9 and '-'`);
    }
    if ((relayUrl === undefined) !== (relayToken === undefined)) {
      throw new UsageError(
        "set both TASKFERRY_RELAY_URL and TASKFERRY_RELAY_TOKEN (or use --setup LINK)",
      );
    }
    const deviceId = s["device-id"] as string | undefined;
    if (deviceId && !isId(deviceId, "dev")) {
      throw new UsageError("device id must look like dev_<ULID>");
    }
    const addr = parseAddr(s.addr as string)!;
    if (!/^(127\.|localhost$|::1$)/.test(addr.hostname)) {
      throw new UsageError(
        `the daemon serves agents on loopback only; ${addr.hostname} is not a loopback address`,
      );
    }
    let lock;
    try {
      lock = acquireHomeLock(home, `${addr.hostname}:${addr.port}`);
    } catch (err) {
      if (!(err instanceof HomeLockedError)) throw err;
      console.error(`taskferry: ${err.message}`);
      return 1;
    }
    let running;
    try {
      running = await startDaemon({
        home,
        clientId,
        dbPath: s.db as string | undefined,
        deviceId,
        relayUrl,
        relayToken,
        localApiToken: s["local-api-token"] as string | undefined,
        hostname: addr.hostname,
        port: addr.port,
      });
    } catch (err) {
      lock.release();
      if (err instanceof Deno.errors.AddrInUse) {
        console.error(
          `taskferry: ${addr.hostname}:${addr.port} is in use; pick another with --addr`,
        );
        return 1;
      }
      throw err;
    }
    lock.record(running.url);
    // Signal handlers first: whoever reads the lines below may signal at once.
    const signalled = waitForSignal();
    console.log(
      `taskferry client '${clientId}' on ${running.url}${
        relayUrl ? ` → relay ${relayUrl}` : " (no relay configured)"
      }`,
    );
    console.log(`API token: ${join(home, "local-token")}`);
    console.log(`dashboard: ${running.url}/  (run 'taskferry open' for a one-time login link)`);
    await signalled;
    await running.close();
    lock.release();
    return 0;
  },
};
