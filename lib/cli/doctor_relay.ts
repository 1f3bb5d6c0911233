/**
 * `taskferry doctor --relay`: the relay's configuration, TLS files (loadable, not expiring),
 * exposure (plain HTTP beyond loopback), database (integrity, schema; or PostgreSQL reachable),
 * file permissions, whether it answers on its address and its public URL, and disk space.
 * Read-only, so it is safe beside a running relay.
 */
import { X509Certificate } from "node:crypto";
import { dirname } from "node:path";
import { openPgRelayStore } from "../relay/pg_store.ts";
import { RELAY_MIGRATIONS } from "../relay/mod.ts";
import { loadTlsFiles } from "../relay/server.ts";
import {
  checkDatabase,
  checkDiskSpace,
  checkPermissions,
  type CheckResult,
  databaseFiles,
  probe,
} from "./doctor_checks.ts";
import { type RelayConfig, resolveRelayConfig } from "./relay_config.ts";
import type { Setting } from "./settings.ts";

/** A certificate that expires sooner than this is worth a warning. */
const CERT_WARN_MS = 14 * 86_400_000;

/** Runs every relay-side check for the settings in `values`. */
export async function relayChecks(
  settings: readonly Setting[],
  values: Record<string, string | boolean | undefined>,
): Promise<CheckResult[]> {
  let c: RelayConfig;
  try {
    c = resolveRelayConfig(settings, values);
  } catch (err) {
    return [{
      name: "config",
      status: "fail",
      detail: (err as Error).message,
      fix: "see 'taskferry help relay'",
    }];
  }
  const pg = /^postgres(ql)?:\/\//.test(c.dbPath);
  const out: CheckResult[] = [{
    name: "config",
    status: "ok",
    detail: `addr ${c.addr.hostname}:${c.addr.port}, public URL ${c.publicUrl}, ` +
      `database ${pg ? "PostgreSQL" : c.dbPath}`,
  }];
  // A public URL daemons cannot use: loopback, or the wildcard address the relay binds.
  const loopbackUrl = /^https?:\/\/(127\.|localhost(:|\/|$)|\[::1?\]|0\.0\.0\.0)/.test(c.publicUrl);
  if (loopbackUrl && !/^(127\.|localhost$|::1$)/.test(c.addr.hostname)) {
    out.push({
      name: "public URL",
      status: "warn",
      detail: `${c.publicUrl} is not reachable from other machines, but the relay listens on ` +
        c.addr.hostname,
      fix: "set --public-url to the address daemons use (setup links are built from it)",
    });
  }
  out.push(checkTls(c));
  if (pg) out.push(await checkPostgres(c.dbPath));
  else {
    out.push(checkDatabase(c.dbPath, RELAY_MIGRATIONS.at(-1)!.version));
    const dir = dirname(c.dbPath);
    out.push(checkPermissions(dir, dir === c.home ? undefined : databaseFiles(c.dbPath)));
  }
  const local = c.addr.hostname === "0.0.0.0" || c.addr.hostname === "::"
    ? "127.0.0.1"
    : c.addr.hostname;
  const scheme = c.tls ? "https" : "http";
  const host = local.includes(":") ? `[${local}]` : local;
  out.push(await checkHealth("running", `${scheme}://${host}:${c.addr.port}`, "start it"));
  if (c.s["public-url"]) {
    out.push(
      await checkHealth(
        "public URL",
        c.publicUrl,
        "check DNS, the proxy or firewall, and that the proxy forwards /v1/ws upgrades",
      ),
    );
  }
  out.push(checkDiskSpace(pg ? c.home : dirname(c.dbPath)));
  return out;
}

function checkTls(c: RelayConfig): CheckResult {
  const name = "tls";
  const loopback = /^(127\.|localhost$|::1$)/.test(c.addr.hostname);
  if (!c.tls) {
    if (loopback) {
      return { name, status: "ok", detail: "plain HTTP on loopback (a proxy in front)" };
    }
    if (c.s["behind-proxy"]) {
      return { name, status: "ok", detail: "plain HTTP; TLS is the proxy's (--behind-proxy)" };
    }
    return {
      name,
      status: "fail",
      detail: `plain HTTP on ${c.addr.hostname}: tokens cross the network in clear`,
      fix: "set --tls-cert/--tls-key, or bind to 127.0.0.1 behind a TLS proxy (deploy/)",
    };
  }
  try {
    const { cert } = loadTlsFiles(c.tls);
    const expires = Date.parse(new X509Certificate(cert).validTo);
    const days = Math.floor((expires - Date.now()) / 86_400_000);
    if (expires <= Date.now()) {
      return {
        name,
        status: "fail",
        detail: `${c.tls.certFile} expired`,
        fix: "renew it, then kill -HUP the relay",
      };
    }
    if (expires - Date.now() < CERT_WARN_MS) {
      return {
        name,
        status: "warn",
        detail: `${c.tls.certFile} expires in ${days} days`,
        fix: "renew it, then kill -HUP the relay",
      };
    }
    return { name, status: "ok", detail: `${c.tls.certFile} loads; expires in ${days} days` };
  } catch (err) {
    return {
      name,
      status: "fail",
      detail: (err as Error).message,
      fix: "check the PEM files and their permissions",
    };
  }
}

async function checkPostgres(url: string): Promise<CheckResult> {
  try {
    const store = await openPgRelayStore(url);
    await store.close();
    return { name: "database", status: "ok", detail: "PostgreSQL reachable, schema current" };
  } catch (err) {
    return {
      name: "database",
      status: "fail",
      detail: `PostgreSQL: ${(err as Error).message}`,
      fix: "check the URL, credentials and that the server is up",
    };
  }
}

async function checkHealth(name: string, base: string, fix: string): Promise<CheckResult> {
  const res = await probe(`${base}/health`);
  if (typeof res === "string") {
    return { name, status: "fail", detail: `${base} does not answer: ${res}`, fix };
  }
  const body = await res.json().catch(() => null) as { connected_clients?: number } | null;
  if (!res.ok || body === null) {
    return { name, status: "fail", detail: `${base}/health answered ${res.status}`, fix };
  }
  return {
    name,
    status: "ok",
    detail: `${base} answers; ${body.connected_clients ?? "?"} clients connected`,
  };
}
