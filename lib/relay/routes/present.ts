/** How the relay shows an agent over HTTP: public keys, fingerprint and profile, no secrets. */
import { decodeBase64Url, fingerprint } from "../../protocol/mod.ts";
import type { AgentRecord } from "../store.ts";

/** The key fingerprint of `a` (invite links carry it). */
export async function agentFingerprint(a: AgentRecord): Promise<string> {
  return await fingerprint({
    signing: decodeBase64Url(a.signing_public_key),
    encryption: decodeBase64Url(a.encryption_public_key),
  });
}

/** An agent as the relay shows it: public keys and profile, never the client's secrets. */
export async function publicAgent(a: AgentRecord) {
  return {
    handle: a.handle,
    signing_public_key: a.signing_public_key,
    encryption_public_key: a.encryption_public_key,
    fingerprint: await agentFingerprint(a),
    profile: a.profile,
    public: a.public,
    created_at: new Date(a.created_at).toISOString(),
    updated_at: new Date(a.updated_at).toISOString(),
  };
}
