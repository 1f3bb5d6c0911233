/**
 * The relay's remembered public URL (issue 19.2): `taskferry relay --public-url URL` stores it in
 * the relay's database, so the operator verbs (`add-client`, `rotate-token`) print setup links
 * daemons can actually reach, and refuse a loopback link for a relay that has a public one.
 */
import type { RelayStore } from "../relay/mod.ts";
import { UsageError } from "./command.ts";

/** True when `url` names this machine only (loopback) or no host at all (0.0.0.0, ::). */
export function isLocalOnlyUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return false;
  }
  return /^(127\.|localhost$|::1$|0\.0\.0\.0$|::$)/.test(host.toLowerCase());
}

/**
 * At start: remembers a `--public-url` given (flag, env or config file), else uses the one
 * remembered from an earlier start, else `derived` (from the bind address).
 */
export async function rememberPublicUrl(
  store: RelayStore,
  given: string | undefined,
  derived: string,
): Promise<string> {
  if (given !== undefined) {
    await store.setSetting("public_url", given, Date.now());
    return given;
  }
  return (await store.getSetting("public_url")) ?? derived;
}

/**
 * The base URL of a setup link printed by an operator verb: the `--public-url` given, else the
 * remembered one, else `derived` (the bind address). A loopback link for a relay whose remembered
 * URL is public would send the daemon to its own machine (issue 19): refused unless
 * `allowLoopback`.
 */
export async function setupLinkBase(
  store: RelayStore,
  given: string | undefined,
  derived: string,
  allowLoopback: boolean,
): Promise<string> {
  const remembered = await store.getSetting("public_url");
  const base = given ?? remembered ?? derived;
  if (
    !allowLoopback && isLocalOnlyUrl(base) && remembered !== null && !isLocalOnlyUrl(remembered)
  ) {
    throw new UsageError(
      `refusing to print a setup link to ${base}: this relay's public URL is ${remembered}, and ` +
        `a daemon on another machine cannot reach ${base}. Drop --public-url (the link then uses ` +
        `${remembered}), or pass --allow-loopback-link for a daemon on this machine`,
    );
  }
  return base;
}
