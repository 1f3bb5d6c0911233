/**
 * The environment names of the Go TaskFerry (and its older `AGENTCHAT_*` spellings), accepted
 * as aliases so that its README runs as written (docs/migrating.md). One table says which old
 * name feeds which setting; each use prints one deprecation line naming the new name. The new
 * name always wins when both are set. Applied by `resolveSettings`, so every command that has
 * the target setting understands the alias and no other command is affected.
 */
import { createHash } from "node:crypto";
import { canonicalClientId, encodeBase64Url, isId } from "../protocol/mod.ts";
import { UsageError } from "./command.ts";

/** One alias: `from` feeds the setting whose env name is `to`. */
export interface EnvAlias {
  from: string;
  to: string;
  /** Why the old name went away, shown in the notice and docs/migrating.md. */
  why: string;
}

/** The Go names whose `AGENTCHAT_<suffix>` spelling the Go project still accepted. */
const GO_SUFFIXES = [
  "RELAY_ADDR",
  "RELAY_DB",
  "RELAY_TOKEN",
  "RELAY_CLIENT_TOKENS",
  "CLIENT_ADDR",
  "CLIENT_ID",
  "DEVICE_ID",
  "OWNER_ID",
  "CLIENT_DB",
  "RELAY_HTTP",
  "RELAY_WS",
  "LOCAL_API_TOKEN",
] as const;

const WHY_URL = "one relay URL; the WebSocket URL is derived from it";
const WHY_OWNER = "the client id is the owner: client alice owns @alice/* and nothing else";

/** Every alias: legacy `AGENTCHAT_*` first, then the Go names that changed. */
export const ENV_ALIASES: readonly EnvAlias[] = [
  ...GO_SUFFIXES.map((suffix) => ({
    from: `AGENTCHAT_${suffix}`,
    to: `TASKFERRY_${suffix}`,
    why: "the AGENTCHAT_ prefix is the Go project's pre-rename spelling",
  })),
  {
    from: "TASKFERRY_RELAY_HTTP",
    to: "TASKFERRY_RELAY_URL",
    why: WHY_URL,
  },
  {
    from: "TASKFERRY_RELAY_WS",
    to: "TASKFERRY_RELAY_URL",
    why: WHY_URL,
  },
  {
    from: "TASKFERRY_OWNER_ID",
    to: "TASKFERRY_CLIENT_ID",
    why: WHY_OWNER,
  },
];

const noticed = new Set<string>();

/** Prints a deprecation line once per process. */
export function deprecation(from: string, to: string, why: string, warn = console.error) {
  if (noticed.has(from)) return;
  noticed.add(from);
  warn(`taskferry: ${from} is deprecated; use ${to} (${why})`);
}

const set = (env: Record<string, string | undefined>, name: string) =>
  env[name] !== undefined && env[name] !== "";

/**
 * `env` with the aliases of {@link ENV_ALIASES} applied for the settings whose env names are in
 * `targets`: the input is not changed. Throws {@link UsageError} when the old names contradict
 * each other (a WebSocket URL that is not the HTTP URL's, an owner that is not the client id).
 */
export function withEnvAliases(
  targets: ReadonlySet<string>,
  input: Record<string, string | undefined>,
  warn: (line: string) => void = console.error,
): Record<string, string | undefined> {
  const env = { ...input };
  // A name matters here when it is a target, or an old name that feeds one.
  const relevant = (name: string) =>
    targets.has(name) || ENV_ALIASES.some((a) => a.from === name && targets.has(a.to));
  for (const a of ENV_ALIASES.slice(0, GO_SUFFIXES.length)) {
    if (relevant(a.to) && set(env, a.from) && !set(env, a.to)) {
      env[a.to] = env[a.from];
      deprecation(a.from, a.to, a.why, warn);
    }
  }
  if (targets.has("TASKFERRY_RELAY_URL") && !set(env, "TASKFERRY_RELAY_URL")) {
    const url = relayUrlFromGo(env.TASKFERRY_RELAY_HTTP, env.TASKFERRY_RELAY_WS);
    if (url !== undefined) {
      env.TASKFERRY_RELAY_URL = url;
      for (const name of ["TASKFERRY_RELAY_HTTP", "TASKFERRY_RELAY_WS"]) {
        if (set(env, name)) deprecation(name, "TASKFERRY_RELAY_URL", WHY_URL, warn);
      }
    }
  }
  if (targets.has("TASKFERRY_CLIENT_ID")) {
    const owner = env.TASKFERRY_OWNER_ID;
    const client = env.TASKFERRY_CLIENT_ID;
    if (set(env, "TASKFERRY_CLIENT_ID")) {
      const id = canonicalClientId(client!);
      if (id !== null && id !== client) {
        warn(`taskferry: client id '${client}' is the Go spelling of '${id}' (owns @${id}/*)`);
        env.TASKFERRY_CLIENT_ID = id;
      }
    }
    if (set(env, "TASKFERRY_OWNER_ID")) {
      const id = canonicalClientId(owner!);
      if (id === null) throw new UsageError(`invalid TASKFERRY_OWNER_ID '${owner}'`);
      if (set(env, "TASKFERRY_CLIENT_ID") && env.TASKFERRY_CLIENT_ID !== id) {
        throw new UsageError(
          `TASKFERRY_OWNER_ID '${owner}' and TASKFERRY_CLIENT_ID '${client}' name different ` +
            `owners; the client id is the owner here: drop TASKFERRY_OWNER_ID`,
        );
      }
      env.TASKFERRY_CLIENT_ID = id;
      deprecation("TASKFERRY_OWNER_ID", "TASKFERRY_CLIENT_ID", WHY_OWNER, warn);
    }
  }
  if (targets.has("TASKFERRY_DEVICE_ID") && set(env, "TASKFERRY_DEVICE_ID")) {
    const device = env.TASKFERRY_DEVICE_ID!;
    if (!isId(device, "dev") && /^device_[a-z0-9_-]{1,64}$/.test(device)) {
      // A device id is signed into every envelope and must be unique per installation; a name
      // copied from a README would not be, so the daemon generates dev_<ULID> and keeps it.
      warn(
        `taskferry: TASKFERRY_DEVICE_ID '${device}' ignored; device ids are generated ` +
          `(dev_<ULID>) once per installation and kept`,
      );
      delete env.TASKFERRY_DEVICE_ID;
    }
  }
  return env;
}

/**
 * The relay URL the Go pair `TASKFERRY_RELAY_HTTP` / `TASKFERRY_RELAY_WS` names, or undefined
 * when neither is set. The WebSocket URL must be the HTTP URL's `ws(s)://…/v1/ws`: anything else
 * would point the two legs of the link at different relays.
 */
export function relayUrlFromGo(
  http: string | undefined,
  ws: string | undefined,
): string | undefined {
  const fromWs = (text: string) => {
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      throw new UsageError(`TASKFERRY_RELAY_WS '${text}' is not a URL`);
    }
    if (!/^wss?:$/.test(u.protocol)) {
      throw new UsageError(`TASKFERRY_RELAY_WS '${text}' must be a ws:// or wss:// URL`);
    }
    const base = `${u.protocol === "wss:" ? "https" : "http"}://${u.host}` +
      u.pathname.replace(/\/+$/, "").replace(/\/v1\/ws$/, "");
    return base.replace(/\/+$/, "");
  };
  if (http === "") http = undefined;
  if (ws === "") ws = undefined;
  if (http === undefined) return ws === undefined ? undefined : fromWs(ws);
  const base = http.trim().replace(/\/+$/, "");
  if (ws !== undefined) {
    const expected = base.replace(/^http(s?):/, "ws$1:") + "/v1/ws";
    if (ws.trim().replace(/\/+$/, "") !== expected) {
      throw new UsageError(
        `TASKFERRY_RELAY_WS '${ws}' does not match TASKFERRY_RELAY_HTTP '${http}' ` +
          `(expected ${expected}); set only TASKFERRY_RELAY_URL=${base}`,
      );
    }
  }
  return base;
}

const TFR_RE = /^tfr\.[a-z0-9][a-z0-9_-]{0,31}\.[A-Za-z0-9_-]{43}$/;

/**
 * The relay token for client `clientId` given `token`: a token issued here
 * (`tfr.<client>.<secret>`) is returned as it is; any other text is a Go-style shared secret
 * (`alice-relay-token`) and becomes `tfr.<client>.<base64url(SHA-256(text))>`, which the relay
 * derives the same way from `TASKFERRY_RELAY_CLIENT_TOKENS`. The relay still stores only a hash
 * of that; the secret is exactly as strong as the text the operator chose.
 */
export function relayTokenFor(clientId: string, token: string): string {
  if (TFR_RE.test(token)) return token;
  const digest = createHash("sha256").update(token, "utf8").digest();
  return `tfr.${clientId}.${encodeBase64Url(new Uint8Array(digest))}`;
}
