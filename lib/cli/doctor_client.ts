/**
 * `taskferry doctor` for a daemon's home: configuration, file permissions, the lock (is a daemon
 * running?), the daemon's API, database integrity, the relay (reachable, token accepted, clock
 * skew) and disk space. Read-only: it changes nothing, so it is safe beside a running daemon.
 */
import { CLIENT_MIGRATIONS } from "../client/mod.ts";
import { probeHomeLock } from "../client/home_lock.ts";
import { ApiError } from "../sdk/mod.ts";
import { type ClientIdentity, clientIdentity, resolveClientSettings } from "./client_config.ts";
import { daemonClient } from "./daemon_client.ts";
import {
  checkDatabase,
  checkDiskSpace,
  checkPermissions,
  type CheckResult,
  probe,
} from "./doctor_checks.ts";

/** Clock skew that is worth a warning; the relay refuses envelopes beyond its --clock-skew (5m). */
const SKEW_WARN_MS = 30_000;
const SKEW_FAIL_MS = 5 * 60_000;

/** Runs every daemon-side check for the settings in `values`. */
export async function clientChecks(
  values: Record<string, string | boolean | undefined>,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const { home, s } = resolveClientSettings(values);
  let id: ClientIdentity | null = null;
  try {
    id = clientIdentity(home, s);
    out.push({
      name: "config",
      status: "ok",
      detail: `client '${id.clientId}', home ${home}, relay ${id.relayUrl ?? "none"}`,
    });
  } catch (err) {
    out.push({
      name: "config",
      status: "fail",
      detail: (err as Error).message,
      fix: "see 'taskferry help client'; a setup link from the relay operator sets everything",
    });
  }
  out.push(checkPermissions(home));
  const lock = probeHomeLock(home);
  out.push(
    lock.held
      ? {
        name: "daemon",
        status: "ok",
        detail: `running: pid ${lock.holder?.pid ?? "?"} at ${lock.holder?.addr ?? "?"}`,
      }
      : {
        name: "daemon",
        status: "fail",
        detail: `no daemon is running on ${home}`,
        fix: "start it: taskferry client (or its service: deploy/systemd)",
      },
  );
  if (lock.held) out.push(await checkApi(home));
  if (id) out.push(checkDatabase(id.dbPath, CLIENT_MIGRATIONS.at(-1)!.version));
  if (id?.relayUrl && id.relayToken) out.push(...await checkRelay(id.relayUrl, id.relayToken));
  else if (id) {
    out.push({
      name: "relay",
      status: "warn",
      detail: "no relay configured: agents can only talk within this daemon",
      fix: "taskferry client --setup - (paste the link from the relay operator)",
    });
  }
  out.push(checkDiskSpace(home));
  return out;
}

async function checkApi(home: string): Promise<CheckResult> {
  try {
    const h = await daemonClient({ home }).health();
    return { name: "api", status: "ok", detail: `answers (taskferry ${h.version})` };
  } catch (err) {
    const unauthorized = err instanceof ApiError && err.code === "unauthorized";
    return {
      name: "api",
      status: "fail",
      detail: unauthorized
        ? `the daemon refuses ${home}/local-token`
        : `the daemon does not answer: ${(err as Error).message}`,
      fix: unauthorized
        ? "the daemon was started with another --local-api-token; use the same one here"
        : "check daemon.json in the home, or restart the daemon",
    };
  }
}

async function checkRelay(url: string, token: string): Promise<CheckResult[]> {
  const health = await probe(`${url}/health`);
  if (typeof health === "string") {
    return [{
      name: "relay",
      status: "fail",
      detail: `cannot reach ${url}: ${health}`,
      fix: "check the relay URL, DNS, firewall and TLS (a private CA: DENO_TLS_CA_STORE=system)",
    }];
  }
  await health.body?.cancel();
  const out: CheckResult[] = [{
    name: "relay",
    status: health.ok ? "ok" : "fail",
    detail: `${url}/health answered ${health.status}`,
    ...(health.ok ? {} : { fix: "the URL reaches something that is not a TaskFerry relay" }),
  }];
  // The cheapest authenticated request: the relay checks the token before the body, so an empty
  // permissions update is refused 401 for a bad token and 400 (nothing changed) for a good one.
  const authed = await probe(`${url}/v1/permissions`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  const status = typeof authed === "string" ? 0 : authed.status;
  if (typeof authed !== "string") await authed.body?.cancel();
  out.push(
    status === 401
      ? {
        name: "relay token",
        status: "fail",
        detail: "the relay refuses this client's token (rotated or revoked)",
        fix: "ask the relay operator for a new link (taskferry relay rotate-token NAME), then " +
          "taskferry client --setup -",
      }
      : status === 400
      ? { name: "relay token", status: "ok", detail: "accepted" }
      : {
        name: "relay token",
        status: "warn",
        detail: `could not tell (${typeof authed === "string" ? authed : `HTTP ${status}`})`,
        fix: "run doctor again; check the relay's logs",
      },
  );
  const date = health.headers.get("date");
  if (date) {
    const skew = Date.now() - Date.parse(date);
    const text = `this machine is ${Math.abs(Math.round(skew / 1000))} s ${
      skew >= 0 ? "ahead of" : "behind"
    } the relay`;
    const abs = Math.abs(skew);
    out.push(
      abs > SKEW_FAIL_MS
        ? {
          name: "clock",
          status: "fail",
          detail: text,
          fix: "sync the clock (NTP): the relay refuses envelopes this far off",
        }
        : abs > SKEW_WARN_MS
        ? { name: "clock", status: "warn", detail: text, fix: "sync the clock (NTP)" }
        : { name: "clock", status: "ok", detail: text },
    );
  }
  return out;
}
