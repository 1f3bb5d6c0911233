/** Linux: the desktop keyring (GNOME Keyring, KWallet) through libsecret's `secret-tool`. */
import { type KeySource, KeySourceError } from "./key_source.ts";
import { runTool } from "./exec.ts";

const INSTALL = "apt-get install libsecret-tools; it needs a D-Bus session with a keyring";

/** The secret stored under `service taskferry account <account>`; the secret goes on stdin. */
export class SecretToolSource implements KeySource {
  readonly label = "secret-tool (libsecret keyring)";
  constructor(private readonly account: string, private readonly cmd = "secret-tool") {}

  async get(): Promise<string | null> {
    const r = await runTool(this.cmd, ["lookup", ...this.#attrs()], INSTALL);
    // lookup exits 1 with no output when nothing is stored.
    if (r.code !== 0) return null;
    return r.stdout.replace(/\n$/, "") || null;
  }

  async set(secret: string): Promise<void> {
    const label = `TaskFerry agent keys (${this.account})`;
    const r = await runTool(
      this.cmd,
      ["store", `--label=${label}`, ...this.#attrs()],
      INSTALL,
      secret,
    );
    if (r.code !== 0) {
      throw new KeySourceError(`secret-tool store failed: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }

  #attrs() {
    return ["service", "taskferry", "account", this.account];
  }
}
