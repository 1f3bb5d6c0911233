/**
 * Invite codes and links (design §4): `taskferry://<relay host>/invite/<code>#fp=<fingerprint>`.
 * The fingerprint rides in the fragment so the relay never sees it and the daemon can check the
 * key the relay serves against it.
 */
import { fail } from "./errors.ts";

/** An invite code: 8–64 base64url characters. */
export const INVITE_CODE_RE = /^[A-Za-z0-9_-]{8,64}$/;
const LINK_RE = /\/invite\/([A-Za-z0-9_-]{8,64})(?:[?#](.*))?$/;

/** True when `text` is a well-formed invite code. */
export function isInviteCode(text: unknown): text is string {
  return typeof text === "string" && INVITE_CODE_RE.test(text);
}

/** The invite link for `code` on the relay at `host`, carrying the agent's key fingerprint. */
export function inviteLink(host: string, code: string, fingerprint: string): string {
  return `taskferry://${host}/invite/${code}#fp=${fingerprint}`;
}

/**
 * The code and (when present) fingerprint of an invite link, or of a bare code. Throws
 * `validation_failed` for anything else.
 *
 * @example
 * ```ts
 * parseInvite("taskferry://relay.example/invite/AbCdEfGh12#fp=ca34-…");
 * // { code: "AbCdEfGh12", fingerprint: "ca34-…" }
 * ```
 */
export function parseInvite(text: string): { code: string; fingerprint: string | null } {
  const trimmed = text.trim();
  const m = LINK_RE.exec(trimmed);
  if (m) return { code: m[1]!, fingerprint: new URLSearchParams(m[2] ?? "").get("fp") };
  if (INVITE_CODE_RE.test(trimmed)) return { code: trimmed, fingerprint: null };
  throw fail("validation_failed", "invite must be a taskferry://…/invite/CODE link or a code");
}
