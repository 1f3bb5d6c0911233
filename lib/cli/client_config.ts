/**
 * How the daemon's settings resolve (design §10): shared by `taskferry client`, which starts the
 * daemon, and `taskferry doctor`, which checks the same configuration without starting anything.
 */
import { join } from "node:path";
import { canonicalClientId, isId, isOwner } from "../protocol/mod.ts";
import { relayTokenFor } from "./env_aliases.ts";
import { UsageError } from "./command.ts";
import {
  LOG_FORMAT_SETTING,
  parseAddr,
  resolveCommandSettings,
  type Setting,
  type SettingValues,
} from "./settings.ts";
import { readSavedSetup } from "./setup_link.ts";

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
    flag: "files-root",
    env: "TASKFERRY_FILES_ROOT",
    key: "files_root",
    kind: "path",
    defaultLabel: "the user's home",
    help: "Files attached by path must be inside this directory (/ allows any)",
  },
  {
    flag: "setup",
    env: "TASKFERRY_SETUP_URL",
    key: "setup",
    kind: "string",
    meta: "-|@FILE|LINK",
    help: "Setup link from the relay operator: - reads stdin, @FILE a file (keeps the token " +
      "out of ps and shell history); saved for later starts",
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
  {
    flag: "quarantine-max-bytes",
    env: "TASKFERRY_QUARANTINE_MAX_BYTES",
    key: "quarantine_max_bytes",
    kind: "int",
    default: String(16 * 1024 * 1024),
    min: 65_536,
    help: "Total size cap of the quarantine (held envelopes); the oldest are evicted past it",
  },
  LOG_FORMAT_SETTING,
  {
    flag: "protect-keys",
    env: "TASKFERRY_PROTECT_KEYS",
    key: "protect_keys",
    kind: "boolean",
    default: "false",
    help: "Wrap agent private keys at rest (scrypt + AES-256-GCM); stays on once set",
  },
  {
    flag: "key-source",
    env: "TASKFERRY_KEY_SOURCE",
    key: "key_source",
    kind: "string",
    choices: ["passphrase", "keychain"],
    meta: "passphrase|keychain",
    default: "passphrase",
    help: "Secret for --protect-keys: a passphrase, or one kept in the OS keychain",
  },
  {
    flag: "passphrase-file",
    env: "TASKFERRY_PASSPHRASE_FILE",
    key: "passphrase_file",
    kind: "path",
    defaultLabel: "asked on the terminal",
    help: "File holding the key passphrase (keep it 0600)",
  },
];

/** The home and resolved settings: flag > env > config file > default. */
export function resolveClientSettings(
  values: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): { home: string; s: SettingValues } {
  return resolveCommandSettings("client", CLIENT_SETTINGS, values, env);
}

/** Who the daemon is and where it talks: settings, else the saved setup; checked. */
export interface ClientIdentity {
  clientId: string;
  relayUrl: string | undefined;
  relayToken: string | undefined;
  deviceId: string | undefined;
  addr: { hostname: string; port: number };
  dbPath: string;
}

/** Completes `s` with the saved setup and checks it; throws {@link UsageError} saying how to fix. */
export function clientIdentity(home: string, s: SettingValues): ClientIdentity {
  const saved = readSavedSetup(home);
  const givenId = (s["client-id"] as string | undefined) ?? saved.client_id;
  const clientId = givenId && (canonicalClientId(givenId) ?? givenId); // client_alice → alice
  const relayUrl = (s["relay-url"] as string | undefined) ?? saved.relay_url;
  const givenToken = (s["relay-token"] as string | undefined) ?? saved.relay_token;
  // A Go-style token (alice-relay-token) becomes the tfr.<client>.… the relay derived too.
  const relayToken = givenToken && clientId ? relayTokenFor(clientId, givenToken) : givenToken;
  if (!clientId) {
    throw new UsageError(
      "no client id: set TASKFERRY_CLIENT_ID (or --client-id), or start once with --setup LINK",
    );
  }
  if (!isOwner(clientId)) {
    throw new UsageError(`invalid client id '${clientId}': lowercase a-z, 0-9, '_' and '-'`);
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
  const dbPath = (s.db as string | undefined) ?? join(home, "client.db");
  return { clientId, relayUrl, relayToken, deviceId, addr, dbPath };
}
