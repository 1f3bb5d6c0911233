/** `taskferry client`: run the local daemon. */
import { join } from "node:path";
import { startDaemon } from "../client/mod.ts";
import { acquireHomeLock, HomeLockedError, lockPathFor } from "../client/home_lock.ts";
import { ensurePrivateHome, setPrivateUmask } from "../store/mod.ts";
import { setLogFormat } from "../log.ts";
import { type Command, parseFlags } from "./command.ts";
import { waitForSignal } from "./relay.ts";
import { flagOptions, settingsHelp } from "./settings.ts";
import { parseSetupLink, readSetupArg, saveSetup } from "./setup_link.ts";
import { setupLinksFor } from "./setup_page.ts";
import { CLIENT_SETTINGS, clientIdentity, resolveClientSettings } from "./client_config.ts";
import { KeyProtectionError, unlockKeys } from "../client/secrets/protection.ts";

export { CLIENT_SETTINGS } from "./client_config.ts";
export { parseSetupLink, readSavedSetup, type SetupLink } from "./setup_link.ts";

/** `taskferry client` */
export const clientCommand: Command = {
  name: "client",
  summary: "Run the local daemon (keys, loopback API, dashboard, relay link)",
  help: `Usage: taskferry client [options]

Runs the daemon: the owner's trust boundary on this machine. It holds the agents' private
keys, seals and opens envelopes, keeps readable history in SQLite and serves the loopback API
(and dashboard) on 127.0.0.1. Settings: flag > environment > config file > saved setup > default.
The Go TaskFerry's names (TASKFERRY_RELAY_HTTP/_WS, TASKFERRY_OWNER_ID, client_<owner> ids,
AGENTCHAT_*) are accepted with a deprecation notice: see docs/migrating.md.

Options:
${settingsHelp(CLIENT_SETTINGS)}

Agent private keys can be protected at rest: --protect-keys wraps them with a passphrase
(TASKFERRY_PASSPHRASE_FILE, else asked on the terminal) or a secret kept in the OS keychain
(--key-source keychain); later starts unlock them the same way, and a wrong passphrase exits 1.

Only one daemon runs per home: a second start on the same home exits at once, naming the
running daemon's pid and address. Files in the home are private (directory 0700, files 0600).

Examples:
  taskferry client --setup - < setup-link.txt        (or paste the link when asked)
  taskferry client --setup @/run/secrets/taskferry-setup
  TASKFERRY_RELAY_URL=https://relay.example.com TASKFERRY_CLIENT_ID=alice \\
    TASKFERRY_RELAY_TOKEN=tfr.alice.… taskferry client
  taskferry client --addr 127.0.0.1:0 --home /tmp/alice
  TASKFERRY_PASSPHRASE_FILE=~/.config/taskferry-pass taskferry client --protect-keys
`,
  async run(args) {
    const parsed = parseFlags("client", args, flagOptions(CLIENT_SETTINGS));
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const { home, s } = resolveClientSettings(values);
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
    const { clientId, relayUrl, relayToken, deviceId, addr, dbPath } = clientIdentity(home, s);
    let lock;
    try {
      lock = acquireHomeLock(home, `${addr.hostname}:${addr.port}`, lockPathFor(home, dbPath));
    } catch (err) {
      if (!(err instanceof HomeLockedError)) throw err;
      console.error(`taskferry: ${err.message}`);
      return 1;
    }
    let unlocked;
    try {
      unlocked = await unlockKeys({
        dbPath,
        home,
        protect: s["protect-keys"] === true,
        keySource: s["key-source"] as "passphrase" | "keychain",
        passphraseFile: s["passphrase-file"] as string | undefined,
      });
    } catch (err) {
      lock.release();
      if (!(err instanceof KeyProtectionError)) throw err;
      console.error(`taskferry: ${err.message}`);
      return 1;
    }
    if (unlocked?.enabled) {
      console.log(`agent keys protected (${unlocked.wrapped} wrapped; secret: ${unlocked.source})`);
    }
    let running;
    try {
      running = await startDaemon({
        keyWrapper: unlocked?.wrapper,
        home,
        clientId,
        dbPath,
        deviceId,
        relayUrl,
        relayToken,
        localApiToken: s["local-api-token"] as string | undefined,
        filesRoot: s["files-root"] as string | undefined,
        hostname: addr.hostname,
        port: addr.port,
        quarantineMaxBytes: s["quarantine-max-bytes"] as number | undefined,
        setupLinks: setupLinksFor(home), // the dashboard's /setup page saves links here
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
