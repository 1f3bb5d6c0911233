/**
 * Agent tokens (design §14): issued per local agent by the owner, stored as a SHA-256 hash,
 * revocable. `tfa_` + 256 random bits; the owner's token is `tfl_…`, so a glance tells them
 * apart.
 */
import { encodeBase64Url, fail, randomBytes, sha256, timingSafeEqual } from "../../protocol/mod.ts";
import type { AgentTokenView, IssuedAgentToken } from "../../protocol/views.ts";
import type { Daemon } from "../daemon.ts";
import type { AgentTokenRow } from "../store/mod.ts";

/** Agent tokens start with this; the owner's start with `tfl_`. */
export const AGENT_TOKEN_PREFIX = "tfa_";

/** How stale `last_used_at` may get before a use is written (one write per token per minute). */
const TOUCH_EVERY_MS = 60_000;

const encoder = new TextEncoder();

/** Hex SHA-256 of a token, as stored (like the relay's client tokens). */
async function hashToken(token: string): Promise<string> {
  const digest = await sha256(encoder.encode(token));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function tokenView(row: AgentTokenRow): AgentTokenView {
  return {
    id: row.id,
    agent: row.agent,
    label: row.label,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
  };
}

/** Issues a token for local agent `agent`; the secret is returned this once, never stored. */
export async function issueAgentToken(
  d: Daemon,
  agent: string,
  label?: string,
): Promise<IssuedAgentToken> {
  d.keyring.require(agent);
  const token = AGENT_TOKEN_PREFIX + encodeBase64Url(randomBytes(32));
  const row: AgentTokenRow = {
    id: `tok_${encodeBase64Url(randomBytes(9))}`,
    agent,
    token_hash: await hashToken(token),
    label: label ?? null,
    created_at: d.nowIso(),
    last_used_at: null,
  };
  d.store.tokens.insert(row);
  return { ...tokenView(row), token };
}

/** Every agent token (optionally of one agent), without secrets. */
export function listAgentTokens(d: Daemon, agent?: string): AgentTokenView[] {
  if (agent !== undefined) d.keyring.require(agent);
  return d.store.tokens.list(agent).map(tokenView);
}

/** Revokes token `id` at once: its next request is `unauthorized`. */
export function revokeAgentToken(d: Daemon, id: string): AgentTokenView {
  const row = d.store.tokens.get(id);
  if (!row || !d.store.tokens.delete(id)) throw fail("not_found", `no agent token ${id}`);
  return tokenView(row);
}

/**
 * The agent token `token` authenticates: its row, or null. The lookup is by hash (an index, so
 * no timing on the secret) and the stored hash is compared in constant time again.
 */
export async function authenticateAgentToken(
  d: Daemon,
  token: string,
): Promise<{ handle: string; tokenId: string } | null> {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return null;
  const hash = await hashToken(token);
  const row = d.store.tokens.byHash(hash);
  if (!row || !timingSafeEqual(row.token_hash, hash)) return null;
  const now = d.now();
  if (row.last_used_at === null || now - Date.parse(row.last_used_at) >= TOUCH_EVERY_MS) {
    d.store.tokens.touch(row.id, new Date(now).toISOString());
  }
  return { handle: row.agent, tokenId: row.id };
}
