/**
 * How the relay's settings resolve (design §10): shared by `taskferry relay`, its operator
 * verbs and `taskferry doctor --relay`, so they always agree on the database, address and TLS.
 */
import { join } from "node:path";
import type { RelayTlsFiles } from "../relay/server.ts";
import { serveOptions } from "./relay_tls.ts";
import { parseAddr, resolveCommandSettings, type Setting, type SettingValues } from "./settings.ts";

/** The relay's resolved configuration. */
export interface RelayConfig {
  home: string;
  s: SettingValues;
  addr: { hostname: string; port: number };
  /** A SQLite path or a postgres:// URL. */
  dbPath: string;
  tls: RelayTlsFiles | undefined;
  /** `--public-url`, else the scheme and address it binds. */
  publicUrl: string;
}

/** Resolves `settings` (the relay's table) from flags, env, the config file and defaults. */
export function resolveRelayConfig(
  settings: readonly Setting[],
  values: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): RelayConfig {
  // The relay has no --home flag: its home is $TASKFERRY_HOME (or ~/.taskferry).
  const { home, s } = resolveCommandSettings(
    "relay",
    settings,
    { ...values, home: undefined },
    env,
  );
  const addr = parseAddr(s.addr as string)!;
  const dbPath = (s.db as string | undefined) ?? join(home, "relay.db");
  const tls = serveOptions(s);
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const publicUrl = (s["public-url"] as string | undefined) ??
    `${tls ? "https" : "http"}://${host}:${addr.port}`;
  return { home, s, addr, dbPath, tls, publicUrl };
}
