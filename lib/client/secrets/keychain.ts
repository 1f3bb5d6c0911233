/** The OS keychain of this platform, behind {@link KeySource}; null where there is none. */
import { join } from "node:path";
import type { KeySource } from "./key_source.ts";
import { MacKeychainSource } from "./macos_keychain.ts";
import { SecretToolSource } from "./secret_tool.ts";
import { WindowsDpapiSource } from "./windows_dpapi.ts";

/** The keychain for `account` on `os` (`home` holds the DPAPI-sealed file on Windows). */
export function osKeychain(
  account: string,
  home: string,
  os: typeof Deno.build.os = Deno.build.os,
): KeySource | null {
  switch (os) {
    case "linux":
      return new SecretToolSource(account);
    case "darwin":
      return new MacKeychainSource(account);
    case "windows":
      return new WindowsDpapiSource(join(home, "keys.dpapi"));
    default:
      return null;
  }
}
