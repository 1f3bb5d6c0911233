/**
 * A typed client of the daemon's loopback API v1. Used by the CLI verbs, the MCP server, the
 * demo agents and tests. Depends on lib/protocol only.
 */
import type { PermissionsPatch } from "../protocol/mod.ts";
import type {
  AgentTokenView,
  AgentView,
  AuditEventView,
  AuditVerification,
  ConnectionView,
  FileAttachment,
  HealthView,
  InviteListItem,
  InviteView,
  IssuedAgentToken,
  MessageView,
  OpenedInviteView,
  QuarantineItemView,
  QuarantineResolution,
  QueuedMessage,
} from "../protocol/views.ts";
import { ApiError, callDaemon, type CallOptions, fetchDaemon, type Query } from "./http.ts";
import { TaskCalls } from "./tasks.ts";

export type * from "../protocol/views.ts";
export { ApiError, CALL_TRIES, callDaemon, type CallOptions } from "./http.ts";

/** Where and how to reach the daemon. */
export interface ClientOptions {
  url: string;
  /** The owner's local API token, or an agent token (acts as its agent only; design §14). */
  token: string;
  fetch?: typeof fetch;
}

/** The loopback API client. */
export class TaskferryClient extends TaskCalls {
  readonly url: string;
  private readonly token: string;
  private readonly fetchFn: typeof fetch;

  constructor(options: ClientOptions) {
    super();
    this.url = options.url.replace(/\/+$/, "");
    this.token = options.token;
    this.fetchFn = options.fetch ?? fetch;
  }

  /**
   * Low-level call: JSON in, JSON out, `ApiError` on failure. A state-changing call sends an
   * `Idempotency-Key` (fresh, or `options.idempotencyKey`) and is retried with it when the
   * connection fails (see http.ts); creates below take the same `options`.
   */
  request<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Query,
    options?: CallOptions | AbortSignal,
  ): Promise<T> {
    return callDaemon<T>(
      { url: this.url, token: this.token, fetch: this.fetchFn },
      method,
      path,
      body,
      query,
      options instanceof AbortSignal ? { signal: options } : options,
    );
  }

  health(): Promise<HealthView> {
    return this.request("GET", "/v1/health");
  }

  // Agents
  async createAgent(input: {
    handle: string;
    display_name?: string;
    description?: string;
    capabilities?: string[];
    public?: boolean;
  }, options?: CallOptions): Promise<AgentView> {
    const path = "/v1/agents";
    return (await this.request<{ agent: AgentView }>("POST", path, input, {}, options)).agent;
  }
  async agents(): Promise<AgentView[]> {
    return (await this.request<{ agents: AgentView[] }>("GET", "/v1/agents")).agents;
  }

  // Agent tokens (owner only; design §14)
  /** Issues a token scoped to local agent `handle`; `token` is shown this once. */
  async issueAgentToken(
    handle: string,
    label?: string,
    options?: CallOptions,
  ): Promise<IssuedAgentToken> {
    const path = `/v1/agents/${handle}/tokens`;
    return (await this.request<{ token: IssuedAgentToken }>("POST", path, { label }, {}, options))
      .token;
  }
  async agentTokens(agent?: string): Promise<AgentTokenView[]> {
    return (await this.request<{ tokens: AgentTokenView[] }>("GET", "/v1/tokens", undefined, {
      agent,
    })).tokens;
  }
  async revokeAgentToken(id: string): Promise<AgentTokenView> {
    const path = `/v1/tokens/${encodeURIComponent(id)}`;
    return (await this.request<{ token: AgentTokenView }>("DELETE", path)).token;
  }

  // Invites and connections
  async createInvite(agent: string): Promise<InviteView> {
    return (await this.request<{ invite: InviteView }>("POST", "/v1/invites", { agent })).invite;
  }
  async openInvite(invite: string): Promise<OpenedInviteView> {
    return (await this.request<{ invite: OpenedInviteView }>("POST", "/v1/invites/open", {
      invite,
    })).invite;
  }
  connect(
    input: {
      from: string;
      to?: string;
      invite?: string;
      note?: string;
      permissions?: PermissionsPatch;
    },
    options?: CallOptions,
  ) {
    return this.request<{
      connection: ConnectionView;
      message: QueuedMessage | null;
      /** With `invite`: the served key's fingerprint, and whether the link vouched for it. */
      invite?: { fingerprint: string; fingerprint_verified: boolean };
    }>(
      "POST",
      "/v1/connections",
      input,
      {},
      options,
    );
  }
  async connections(agent?: string): Promise<ConnectionView[]> {
    return (await this.request<{ connections: ConnectionView[] }>(
      "GET",
      "/v1/connections",
      undefined,
      { agent },
    ))
      .connections;
  }
  acceptConnection(peer: string, input: { agent?: string; permissions?: PermissionsPatch } = {}) {
    return this.request<{ connection: ConnectionView }>(
      "POST",
      `/v1/connections/${peer}/accept`,
      input,
    );
  }
  declineConnection(peer: string, input: { agent?: string; reason?: string } = {}) {
    return this.request<{ connection: ConnectionView }>(
      "POST",
      `/v1/connections/${peer}/decline`,
      input,
    );
  }
  async setPermissions(
    peer: string,
    agent: string,
    permissions: PermissionsPatch,
  ): Promise<ConnectionView> {
    return (await this.request<{ connection: ConnectionView }>("PATCH", `/v1/connections/${peer}`, {
      agent,
      permissions,
    })).connection;
  }

  // Messages
  send(
    input: {
      from: string;
      to: string | string[];
      text?: string;
      data?: unknown;
      conversation_id?: string;
      reply_to?: string;
      files?: FileAttachment[];
    },
    options?: CallOptions,
  ) {
    return this.request<{ message: { id: string; state: string; conversation_id: string } }>(
      "POST",
      "/v1/messages",
      input,
      {},
      options,
    );
  }
  async message(id: string): Promise<MessageView> {
    return (await this.request<{ message: MessageView }>("GET", `/v1/messages/${id}`)).message;
  }
  inbox(
    query: {
      agent?: string;
      after?: number | "latest";
      type?: string;
      wait?: number;
      limit?: number;
    } = {},
    signal?: AbortSignal,
  ) {
    return this.request<{ agent: string; items: MessageView[]; next_after: number }>(
      "GET",
      "/v1/inbox",
      undefined,
      query as Query,
      signal,
    );
  }
  async ack(id: string, state: "read" | "processed", agent?: string): Promise<MessageView> {
    return (await this.request<{ message: MessageView }>("POST", `/v1/messages/${id}/ack`, {
      state,
      ...(agent ? { agent } : {}),
    })).message;
  }

  // Files (docs/api.md, "Files")
  /** Stores a file on the daemon (streamed); attach it as `{file_id}`. */
  async postFile(
    name: string,
    body: BodyInit,
    mediaType = "application/octet-stream",
  ): Promise<{ file_id: string; name: string; size: number; media_type: string; sha256: string }> {
    const res = await this.raw("POST", `/v1/files?name=${encodeURIComponent(name)}`, body, {
      "content-type": mediaType,
    });
    return (await res.json()).file;
  }
  /** A sent or received file once verified, as a streaming response. */
  downloadFile(id: string, agent?: string): Promise<Response> {
    const q = agent ? `?agent=${encodeURIComponent(agent)}` : "";
    return this.raw("GET", `/v1/files/${id}${q}`);
  }
  private raw(method: string, path: string, body?: BodyInit, headers?: Record<string, string>) {
    const to = { url: this.url, token: this.token, fetch: this.fetchFn };
    return fetchDaemon(to, method, path, body, headers);
  }

  // Quarantine
  /** One page of held items, newest first; pass `next_before` as `before` for the next. */
  quarantine(query: { limit?: number; before?: number } = {}) {
    return this.request<{ items: QuarantineItemView[]; next_before: number | null }>(
      "GET",
      "/v1/quarantine",
      undefined,
      query,
    );
  }
  resolveQuarantine(id: string, accept: boolean) {
    return this.request<QuarantineResolution>(
      "POST",
      `/v1/quarantine/${id}/${accept ? "accept" : "reject"}`,
      {},
    );
  }

  // Owner verbs: block, key rotation, invites, audit
  /** Blocks and disconnects `peer` (for `agent`, default every local agent with it). */
  async blockPeer(peer: string, agent?: string): Promise<ConnectionView[]> {
    return (await this.request<{ connections: ConnectionView[] }>(
      "DELETE",
      `/v1/connections/${peer}`,
      undefined,
      { agent },
    )).connections;
  }
  /** Lifts a block: `peer` may ask for a connection again. */
  unblockPeer(peer: string, agent?: string): Promise<{ unblocked: string[] }> {
    return this.request("POST", `/v1/connections/${peer}/unblock`, agent ? { agent } : {});
  }
  /** New keys for a local agent, the rotation signed by the old key. */
  async rotateKey(handle: string): Promise<AgentView> {
    return (await this.request<{ agent: AgentView }>(
      "POST",
      `/v1/agents/${handle}/rotate-key`,
      {},
    )).agent;
  }
  /** Invites this daemon created, newest first. */
  async invites(agent?: string): Promise<InviteListItem[]> {
    return (await this.request<{ invites: InviteListItem[] }>("GET", "/v1/invites", undefined, {
      agent,
    })).invites;
  }
  /** Revokes an invite (what it already granted stays: block the peer for that). */
  async revokeInvite(code: string): Promise<InviteListItem> {
    return (await this.request<{ invite: InviteListItem }>(
      "DELETE",
      `/v1/invites/${encodeURIComponent(code)}`,
    )).invite;
  }
  /** The audit log (optionally of one task). */
  async audit(task?: string): Promise<AuditEventView[]> {
    return (await this.request<{ events: AuditEventView[] }>("GET", "/v1/audit", undefined, {
      task,
    })).events;
  }
  /** Checks every task's audit hash chain (or one task's). */
  verifyAudit(task?: string): Promise<AuditVerification> {
    return this.request("GET", "/v1/audit/verify", undefined, { task });
  }

  /**
   * Waits (long poll) until `predicate` holds for some inbox item, returning it. Bounded by
   * `timeoutMs`; throws `ApiError("timeout")` after it.
   */
  async waitForInbox(
    agent: string,
    predicate: (m: MessageView) => boolean,
    opts: { after?: number; timeoutMs?: number } = {},
  ): Promise<{ item: MessageView; after: number }> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let after = opts.after ?? 0;
    while (Date.now() < deadline) {
      const wait = Math.max(1, Math.min(25, Math.ceil((deadline - Date.now()) / 1000)));
      const page = await this.inbox({ agent, after, wait });
      for (const item of page.items) {
        if (predicate(item)) return { item, after: item.seq ?? after };
      }
      after = page.next_after;
    }
    throw new ApiError(504, "timeout", `nothing matching arrived for ${agent}`);
  }
}
