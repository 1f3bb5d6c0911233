/** macOS: the login keychain through `security`. */
import { type KeySource, KeySourceError } from "./key_source.ts";
import { runTool } from "./exec.ts";

const INSTALL = "it ships with macOS at /usr/bin/security";

/** A generic password (service taskferry, account `account`). */
export class MacKeychainSource implements KeySource {
  readonly label = "macOS keychain (security)";
  constructor(private readonly account: string, private readonly cmd = "security") {}

  async get(): Promise<string | null> {
    const r = await runTool(
      this.cmd,
      ["find-generic-password", "-s", "taskferry", "-a", this.account, "-w"],
      INSTALL,
    );
    if (r.code !== 0) return null; // 44: no such item
    return r.stdout.replace(/\n$/, "") || null;
  }

  async set(secret: string): Promise<void> {
    // `security -i` reads its command from stdin, so the secret never appears on argv. The
    // secrets TaskFerry stores are base64url: nothing to quote.
    if (!/^[A-Za-z0-9_-]+$/.test(secret)) {
      throw new KeySourceError("the keychain stores generated secrets only");
    }
    const command = `add-generic-password -U -s taskferry -a ${this.account} -w ${secret}\n`;
    const r = await runTool(this.cmd, ["-i"], INSTALL, command);
    if (r.code !== 0) {
      throw new KeySourceError(`security add-generic-password failed: ${r.stderr.trim()}`);
    }
  }
}
