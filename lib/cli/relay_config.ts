/**
 * How the relay's settings resolve (design §10): shared by `taskferry relay`, its operator
 * verbs and `taskferry doctor --relay`, so they always agree on the database, address and TLS.
 */
import { join } from "node:path";
import type { RelayTlsFiles } from "../relay/server.ts";
import { serveOptions } from "./relay_tls.ts";
import {
  parseAddr,
  readConfigSection,
  resolveSettings,
  type Setting,
  type SettingValues,
  taskferryHome,
} from "./settings.ts";

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
  const home = taskferryHome(env);
  const configPath = (values.config as string | undefined) ?? env.TASKFERRY_CONFIG;
  const file = readConfigSection(configPath ?? join(home, "config.json"), "relay", !!configPath);
  const s = resolveSettings(settings, values, env, file, configPath ?? "config file");
  const addr = parseAddr(s.addr as string)!;
  const dbPath = (s.db as string | undefined) ?? join(home, "relay.db");
  const tls = serveOptions(s);
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const publicUrl = (s["public-url"] as string | undefined) ??
    `${tls ? "https" : "http"}://${host}:${addr.port}`;
  return { home, s, addr, dbPath, tls, publicUrl };
}
