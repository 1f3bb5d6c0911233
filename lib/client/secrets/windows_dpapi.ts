/**
 * Windows: the secret sealed with DPAPI (CurrentUser scope) in a file in the home, through
 * PowerShell; only this Windows account can unseal it.
 */
import { type KeySource, KeySourceError } from "./key_source.ts";
import { runTool } from "./exec.ts";

const INSTALL = "PowerShell ships with Windows";
const PRELUDE = "$ErrorActionPreference='Stop'; Add-Type -AssemblyName System.Security; " +
  "$scope=[Security.Cryptography.DataProtectionScope]::CurrentUser; ";
const SEAL = PRELUDE + "$s=[Console]::In.ReadToEnd(); " +
  "$b=[Security.Cryptography.ProtectedData]::Protect([Text.Encoding]::UTF8.GetBytes($s),$null,$scope); " +
  "[IO.File]::WriteAllText($env:TASKFERRY_DPAPI_FILE,[Convert]::ToBase64String($b))";
const UNSEAL = PRELUDE +
  "$b=[Convert]::FromBase64String([IO.File]::ReadAllText($env:TASKFERRY_DPAPI_FILE)); " +
  "[Console]::Out.Write([Text.Encoding]::UTF8.GetString(" +
  "[Security.Cryptography.ProtectedData]::Unprotect($b,$null,$scope)))";

/** The secret DPAPI-sealed in `file`. */
export class WindowsDpapiSource implements KeySource {
  readonly label = "Windows DPAPI";
  constructor(private readonly file: string, private readonly cmd = "powershell.exe") {}

  async get(): Promise<string | null> {
    try {
      Deno.statSync(this.file);
    } catch {
      return null;
    }
    const r = await this.#run(UNSEAL);
    if (r.code !== 0) throw new KeySourceError(`DPAPI could not unseal ${this.file}: ${r.stderr}`);
    return r.stdout || null;
  }

  async set(secret: string): Promise<void> {
    const r = await this.#run(SEAL, secret);
    if (r.code !== 0) throw new KeySourceError(`DPAPI could not seal the secret: ${r.stderr}`);
  }

  #run(script: string, stdin?: string) {
    return runTool(
      this.cmd,
      ["-NoProfile", "-NonInteractive", "-Command", script],
      INSTALL,
      stdin,
      { ...Deno.env.toObject(), TASKFERRY_DPAPI_FILE: this.file },
    );
  }
}
