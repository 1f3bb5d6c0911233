/**
 * When an invite may still be used: the one home of that rule. The HTTP look-up, the public
 * invite page and both relay stores (which re-check it inside the redeeming transaction, so
 * concurrent redemptions cannot overshoot `max_uses`) all ask this function.
 * @module
 */
import type { InviteRecord } from "./store.ts";

/**
 * True when `invite` is not revoked, not expired at `now` and has uses left.
 *
 * @param invite The invite as stored (only its state fields are read).
 * @param now The current time in milliseconds since the epoch.
 * @returns Whether a client may redeem the invite now.
 * @example
 * ```ts
 * const invite = { revoked: false, expires_at: 2_000, uses: 0, max_uses: 1 };
 * inviteUsable(invite, 1_000); // true
 * inviteUsable({ ...invite, uses: 1 }, 1_000); // false: used up
 * inviteUsable(invite, 3_000); // false: expired
 * ```
 */
export function inviteUsable(
  invite: Pick<InviteRecord, "revoked" | "expires_at" | "uses" | "max_uses">,
  now: number,
): boolean {
  const usedUp = invite.max_uses !== null && invite.uses >= invite.max_uses;
  return !invite.revoked && invite.expires_at >= now && !usedUp;
}
