/**
 * The relay's TLS settings and SIGHUP reload (issue 19 item 1), kept out of relay.ts so that
 * file stays about the command. What a reload does to live sessions: lib/relay/server.ts.
 */
import { logger } from "../log.ts";
import type { RelayTlsFiles, RunningRelay } from "../relay/server.ts";
import { UsageError } from "./command.ts";
import type { Setting, SettingValues } from "./settings.ts";

const log = logger("relay");

/** The relay's TLS settings (part of RELAY_SETTINGS in relay.ts). */
export const RELAY_TLS_SETTINGS: readonly Setting[] = [
  {
    flag: "tls-cert",
    env: "TASKFERRY_RELAY_TLS_CERT",
    key: "tls_cert",
    kind: "path",
    help: "PEM certificate chain: serve HTTPS and WSS directly (with --tls-key; SIGHUP reloads)",
  },
  {
    flag: "tls-key",
    env: "TASKFERRY_RELAY_TLS_KEY",
    key: "tls_key",
    kind: "path",
    help: "PEM private key for --tls-cert",
  },
  {
    flag: "behind-proxy",
    env: "TASKFERRY_RELAY_BEHIND_PROXY",
    key: "behind_proxy",
    kind: "boolean",
    default: "false",
    help: "A TLS-terminating reverse proxy is in front (silences the plain-HTTP warning)",
  },
];

/** The TLS files the resolved settings name: both or neither. */
export function serveOptions(s: SettingValues): RelayTlsFiles | undefined {
  const certFile = s["tls-cert"] as string | undefined;
  const keyFile = s["tls-key"] as string | undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new UsageError(
      "set both --tls-cert and --tls-key (TASKFERRY_RELAY_TLS_CERT / TASKFERRY_RELAY_TLS_KEY)",
    );
  }
  return { certFile, keyFile };
}

/**
 * Reloads the certificate on SIGHUP (where the platform has it). A broken pair is logged and the
 * old one keeps serving. Returns the function that stops listening.
 */
export function watchTlsReload(running: RunningRelay): () => void {
  if (Deno.build.os === "windows") return () => {};
  const onHup = () => {
    running.reloadTls().catch((err) =>
      log.error("TLS reload failed; still serving the previous certificate", { err })
    );
  };
  Deno.addSignalListener("SIGHUP", onHup);
  return () => Deno.removeSignalListener("SIGHUP", onHup);
}
