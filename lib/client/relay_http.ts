/** The daemon's HTTP client of the relay: registry, invites, permissions. */
import {
  fail,
  isErrorCode,
  parseJsonBounded,
  type Permissions,
  TaskferryError,
} from "../protocol/mod.ts";

/** Largest relay answer read (the directory is the biggest; far below this). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** A relay agent record as served by `GET /v1/agents/{handle}`. */
export interface RelayAgent {
  handle: string;
  signing_public_key: string;
  encryption_public_key: string;
  fingerprint: string;
  profile: Record<string, unknown>;
  public: boolean;
}

/** Calls the relay's HTTP API with the client's token. */
export class RelayHttp {
  private readonly client: Deno.HttpClient | undefined;

  constructor(readonly baseUrl: string, private readonly token: string, caCerts?: string[]) {
    // Extra trusted CAs (a relay behind a private CA); otherwise the default trust store.
    this.client = caCerts ? Deno.createHttpClient({ caCerts }) : undefined;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      const init: RequestInit & { client?: Deno.HttpClient } = {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        signal: AbortSignal.timeout(15_000),
      };
      if (body !== undefined) init.body = JSON.stringify(body);
      if (this.client) init.client = this.client;
      res = await fetch(this.baseUrl + path, init);
    } catch (err) {
      // fetch says only "fetch failed"; the cause names the TLS or DNS problem.
      const cause = (err as Error).cause;
      const detail = cause instanceof Error ? `: ${cause.message}` : "";
      throw fail("unavailable", `relay unreachable: ${(err as Error).message}${detail}`);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      // Bounded in size and depth: the relay is not trusted to send sane JSON (gap 7).
      json = text ? parseJsonBounded(text, { maxBytes: MAX_ANSWER_BYTES }) : null;
    } catch (err) {
      if (res.ok) throw fail("unavailable", `relay answer unreadable: ${(err as Error).message}`);
    }
    // A relay fault or overload is worth retrying, not a verdict on the request.
    if (res.status >= 500) throw fail("unavailable", `relay answered ${res.status}`);
    if (!res.ok) {
      const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      if (e && isErrorCode(e.code)) {
        throw new TaskferryError(e.code, `relay: ${String(e.message ?? e.code)}`);
      }
      throw fail("unavailable", `relay answered ${res.status}`);
    }
    return json as T;
  }

  /** Registers (or updates) an agent. */
  register(body: Record<string, unknown>): Promise<RelayAgent> {
    return this.call("POST", "/v1/agents", body);
  }

  /** Looks an agent up (public, connected, invited or pending-to-us agents only). */
  agent(handle: string): Promise<RelayAgent> {
    return this.call("GET", `/v1/agents/${handle}`);
  }

  /** Creates an invite for a local agent. */
  createInvite(agent: string): Promise<{ code: string; expires_at: string; fingerprint: string }> {
    return this.call("POST", "/v1/invites", { agent });
  }

  /** Redeems (looks up) an invite code; grants this client contact with the agent. */
  invite(code: string): Promise<{ code: string; expires_at: string; agent: RelayAgent }> {
    return this.call("GET", `/v1/invites/${encodeURIComponent(code)}`);
  }

  /** Revokes an invite of ours: nobody can redeem it any more. */
  revokeInvite(code: string): Promise<unknown> {
    return this.call("DELETE", `/v1/invites/${encodeURIComponent(code)}`);
  }

  /** Sets what `peer` may send to the local `agent`. */
  setPermissions(agent: string, peer: string, permissions: Permissions): Promise<unknown> {
    return this.call("PUT", "/v1/permissions", { agent, peer, permissions });
  }

  /** The public directory. */
  directory(): Promise<{ agents: RelayAgent[] }> {
    return this.call("GET", "/v1/directory");
  }
}
