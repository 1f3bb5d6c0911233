/**
 * The Go relay's `TASKFERRY_RELAY_CLIENT_TOKENS=client_alice=alice-relay-token,…`: each pair
 * creates the client (or sets its token) when the relay starts, through the same store
 * operations as `taskferry relay add-client` / `rotate-token`, so tokens are stored hashed as
 * usual. The Go relay's single shared `TASKFERRY_RELAY_TOKEN` is refused: any holder could act
 * as every client (the Go project's weakness #4), which our namespace binding exists to prevent.
 */
import { canonicalClientId } from "../../protocol/mod.ts";
import { hashToken, type RelayStore } from "../../relay/mod.ts";
import { UsageError } from "../command.ts";
import { deprecation, relayTokenFor } from "../env_aliases.ts";

/** Below this many characters a chosen token earns a warning (ours carry 256 random bits). */
const SHORT_TOKEN = 24;

/** One parsed `client=token` pair. */
export interface ClientTokenPair {
  clientId: string;
  token: string;
}

/** Parses `client_alice=alice-relay-token,bob=…` into canonical client ids and tokens. */
export function parseClientTokens(text: string): ClientTokenPair[] {
  const out: ClientTokenPair[] = [];
  const seen = new Set<string>();
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const given = part.slice(0, eq).trim();
    const token = part.slice(eq + 1).trim();
    const clientId = eq > 0 ? canonicalClientId(given) : null;
    if (clientId === null || token === "") {
      throw new UsageError(
        `TASKFERRY_RELAY_CLIENT_TOKENS: '${part.trim().split("=")[0]}=…' is not client_id=token ` +
          `(client ids: lowercase a-z, 0-9, '_' and '-'; client_<owner> means <owner>)`,
      );
    }
    const named = /^tfr\.([^.]+)\./.exec(token)?.[1];
    if (named !== undefined && named !== clientId) {
      throw new UsageError(
        `TASKFERRY_RELAY_CLIENT_TOKENS gives client '${clientId}' a token issued for '${named}'`,
      );
    }
    if (seen.has(clientId)) {
      throw new UsageError(`TASKFERRY_RELAY_CLIENT_TOKENS names client '${clientId}' twice`);
    }
    seen.add(clientId);
    out.push({ clientId, token });
  }
  return out;
}

/**
 * Applies the Go relay's client-token variables (and their `AGENTCHAT_*` spellings) to `store`
 * before the relay serves. Returns the client ids created or updated.
 */
export async function applyGoClientTokens(
  store: RelayStore,
  env: Record<string, string | undefined>,
  warn: (line: string) => void = console.error,
): Promise<string[]> {
  for (const name of ["TASKFERRY_RELAY_TOKEN", "AGENTCHAT_RELAY_TOKEN"]) {
    if (env[name]) {
      throw new UsageError(
        `${name} is set: a relay-wide shared token lets its holder act as every client, so this ` +
          `relay refuses it; give each client its own token with TASKFERRY_RELAY_CLIENT_TOKENS ` +
          `or 'taskferry relay add-client NAME' (and unset ${name} for the relay)`,
      );
    }
  }
  let text = env.TASKFERRY_RELAY_CLIENT_TOKENS;
  if (!text && env.AGENTCHAT_RELAY_CLIENT_TOKENS) {
    text = env.AGENTCHAT_RELAY_CLIENT_TOKENS;
    deprecation(
      "AGENTCHAT_RELAY_CLIENT_TOKENS",
      "TASKFERRY_RELAY_CLIENT_TOKENS",
      "the AGENTCHAT_ prefix is the Go project's pre-rename spelling",
      warn,
    );
  }
  if (!text) return [];
  const pairs = parseClientTokens(text);
  for (const { clientId, token } of pairs) {
    if (!token.startsWith("tfr.") && token.length < SHORT_TOKEN) {
      warn(
        `taskferry: the token for client '${clientId}' is short (${token.length} chars); ` +
          `'taskferry relay rotate-token ${clientId}' issues a 256-bit one`,
      );
    }
    const hash = await hashToken(relayTokenFor(clientId, token));
    if (await store.setClientToken(clientId, hash)) continue;
    const existing = await store.getClient(clientId);
    if (existing) {
      throw new UsageError(
        `TASKFERRY_RELAY_CLIENT_TOKENS names client '${clientId}', which was revoked; ` +
          `remove it from the list`,
      );
    }
    await store.addClient(clientId, hash, Date.now());
  }
  return pairs.map((p) => p.clientId);
}
