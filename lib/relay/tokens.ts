/** Relay client tokens: `tfr.<client_id>.<secret>`; only a SHA-256 hash is stored. */
import {
  encodeBase64Url,
  fail,
  isOwner,
  randomBytes,
  sha256,
  timingSafeEqual,
} from "../protocol/mod.ts";
import type { ClientRecord, RelayStore } from "./store.ts";

const encoder = new TextEncoder();

/** A new token for `clientId` (256 random bits). */
export function generateToken(clientId: string): string {
  return `tfr.${clientId}.${encodeBase64Url(randomBytes(32))}`;
}

/** The client id a token names, or null when it is not a token. */
export function tokenClient(token: string): string | null {
  const m = /^tfr\.([a-z0-9][a-z0-9_-]{0,31})\.[A-Za-z0-9_-]{43}$/.exec(token);
  return m && isOwner(m[1]) ? m[1]! : null;
}

/** Hex SHA-256 of a token, as stored. */
export async function hashToken(token: string): Promise<string> {
  const digest = await sha256(encoder.encode(token));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The link a daemon can be configured from: relay URL, client id and token in the fragment. */
export function setupUrl(publicUrl: string, clientId: string, token: string): string {
  const host = new URL(publicUrl).host;
  const params = new URLSearchParams({ relay: publicUrl, client_id: clientId, token });
  return `taskferry://${host}/setup#${params}`;
}

/** The client a relay token authenticates; throws `unauthorized` / `client_revoked`. */
export async function authenticateToken(
  store: RelayStore,
  token: string | undefined,
): Promise<ClientRecord> {
  const clientId = token ? tokenClient(token) : null;
  if (!token || !clientId) throw fail("unauthorized", "send Authorization: Bearer <relay token>");
  const client = await store.getClient(clientId);
  if (!client || !timingSafeEqual(client.token_hash, await hashToken(token))) {
    throw fail("unauthorized", "unknown client or wrong token");
  }
  if (client.revoked_at !== null) throw fail("client_revoked");
  return client;
}
