/**
 * Invite links (design §4): a link carries the agent's key fingerprint so the first pin can be
 * checked out of band. Creating one asks the relay for a code; opening one redeems it, checks
 * the fingerprint against the keys the relay serves, and pins the peer.
 */
import { fail } from "../protocol/mod.ts";
import type { InviteListItem, InviteView, OpenedInviteView } from "../protocol/views.ts";
import type { Daemon } from "./daemon.ts";
import { keyFingerprint } from "./keys.ts";

/** Parses an invite link (`taskferry://host/invite/CODE#fp=…`, an https invite URL, or a code). */
export function parseInvite(text: string): { code: string; fingerprint: string | null } {
  const trimmed = text.trim();
  const m = /\/invite\/([A-Za-z0-9_-]{8,64})(?:[?#](.*))?$/.exec(trimmed);
  if (m) {
    const fp = new URLSearchParams(m[2] ?? "").get("fp");
    return { code: m[1]!, fingerprint: fp };
  }
  if (/^[A-Za-z0-9_-]{8,64}$/.test(trimmed)) return { code: trimmed, fingerprint: null };
  throw fail("validation_failed", "invite must be a taskferry://…/invite/CODE link or a code");
}

/** Creates an invite link for a local agent. */
export async function createInvite(d: Daemon, agent: string): Promise<InviteView> {
  const row = d.keyring.require(agent);
  if (!d.relay) throw fail("unavailable", "no relay configured");
  if (!row.registered) await d.keyring.register(agent);
  const invite = await d.relay.createInvite(agent);
  const host = new URL(d.relay.baseUrl).host;
  const view = {
    code: invite.code,
    agent,
    fingerprint: row.fingerprint,
    expires_at: invite.expires_at,
    url: `taskferry://${host}/invite/${invite.code}#fp=${row.fingerprint}`,
  };
  d.store.invites.insert({ ...view, created_at: d.nowIso() });
  return view;
}

/** Invites this daemon created, newest first, with whether each is revoked or expired. */
export function listInvites(d: Daemon, agent?: string): InviteListItem[] {
  const now = d.now();
  return d.store.invites.list(agent).map((r) => ({
    code: r.code,
    agent: r.agent,
    fingerprint: r.fingerprint,
    url: r.url,
    expires_at: r.expires_at,
    created_at: r.created_at,
    revoked_at: r.revoked_at,
    state: r.revoked_at ? "revoked" : Date.parse(r.expires_at) < now ? "expired" : "active",
  }));
}

/**
 * Revokes an invite at the relay: nobody can redeem it from now on. What it already granted
 * stays — a client that redeemed it may still contact the agent, and connections made through
 * it stay connected; the owner blocks a peer for that (lib/client/blocks.ts).
 */
export async function revokeInvite(d: Daemon, code: string): Promise<InviteListItem> {
  const row = d.store.invites.get(code);
  if (!row) throw fail("not_found", `no invite ${code} created by this daemon`);
  if (!d.relay) throw fail("unavailable", "no relay configured");
  if (!row.revoked_at) {
    await d.relay.revokeInvite(code).catch((err) => {
      // Already gone at the relay (expired and pruned): revoked as far as anyone can tell.
      if ((err as { code?: string }).code !== "invite_not_found") throw err;
    });
    d.store.invites.markRevoked(code, d.nowIso());
  }
  return listInvites(d, row.agent).find((i) => i.code === code)!;
}

/** Looks an invite up (redeeming it at the relay) and checks its fingerprint; pins the peer. */
export async function openInvite(d: Daemon, link: string): Promise<OpenedInviteView> {
  if (!d.relay) throw fail("unavailable", "no relay configured");
  const { code, fingerprint: expected } = parseInvite(link);
  const invite = await d.relay.invite(code);
  const actual = await keyFingerprint(invite.agent);
  if (expected && expected !== actual) {
    throw fail(
      "key_changed",
      `the invite says fingerprint ${expected}, the relay serves ${actual}`,
    );
  }
  const pinned = d.peers.get(invite.agent.handle);
  if (pinned && pinned.signing_public_key !== invite.agent.signing_public_key) {
    throw fail("key_changed", `${invite.agent.handle} has a different pinned key`);
  }
  await d.peers.pin(invite.agent);
  return {
    code,
    agent: invite.agent.handle,
    fingerprint: actual,
    fingerprint_verified: Boolean(expected), // a mismatch was refused above
    expires_at: invite.expires_at,
    profile: invite.agent.profile,
  };
}
