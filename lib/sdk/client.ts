/**
 * A typed client of the daemon's loopback API v1. Used by the CLI verbs, the MCP server, the
 * demo agents and tests. Depends on lib/protocol only.
 */
import type { PermissionsPatch } from "../protocol/mod.ts";
import type {
  AgentView,
  ArtifactView,
  ConnectionView,
  FileAttachment,
  HealthView,
  InviteView,
  MessageView,
  OpenedInviteView,
  QuarantineItemView,
  QuarantineResolution,
  QueuedMessage,
  TaskDetail,
  TaskView,
} from "../protocol/views.ts";
import { ApiError, callDaemon, fetchDaemon, type Query } from "./http.ts";

export type * from "../protocol/views.ts";
export { ApiError, callDaemon } from "./http.ts";

/** Where and how to reach the daemon. */
export interface ClientOptions {
  url: string;
  token: string;
  fetch?: typeof fetch;
}

/** The loopback API client. */
export class TaskferryClient {
  readonly url: string;
  private readonly token: string;
  private readonly fetchFn: typeof fetch;

  constructor(options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.token = options.token;
    this.fetchFn = options.fetch ?? fetch;
  }

  /** Low-level call: JSON in, JSON out, `ApiError` on failure. */
  /** Low-level call: JSON in, JSON out, `ApiError` on failure. */
  request<T>(
    method: string,
    path: string,
    body?: unknown,
    query?: Query,
    signal?: AbortSignal,
  ): Promise<T> {
    return callDaemon<T>(
      { url: this.url, token: this.token, fetch: this.fetchFn },
      method,
      path,
      body,
      query,
      signal,
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
  }): Promise<AgentView> {
    return (await this.request<{ agent: AgentView }>("POST", "/v1/agents", input)).agent;
  }
  async agents(): Promise<AgentView[]> {
    return (await this.request<{ agents: AgentView[] }>("GET", "/v1/agents")).agents;
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
  ) {
    return this.request<{ connection: ConnectionView; message: QueuedMessage | null }>(
      "POST",
      "/v1/connections",
      input,
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
  ) {
    return this.request<{ message: { id: string; state: string; conversation_id: string } }>(
      "POST",
      "/v1/messages",
      input,
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

  // Tasks
  createTask(input: {
    from: string;
    to: string;
    title: string;
    instructions: string;
    inputs?: Record<string, unknown>;
    deadline?: string;
    max_revisions?: number;
    files?: FileAttachment[];
  }) {
    return this.request<{ task: TaskView; message: QueuedMessage }>(
      "POST",
      "/v1/tasks",
      input,
    );
  }
  async tasks(query: { agent?: string; state?: string } = {}): Promise<TaskView[]> {
    return (await this.request<{ tasks: TaskView[] }>("GET", "/v1/tasks", undefined, query)).tasks;
  }
  task(id: string): Promise<TaskDetail> {
    return this.request("GET", `/v1/tasks/${id}`);
  }
  async artifact(id: string, version: number): Promise<ArtifactView> {
    return (await this.request<{ artifact: ArtifactView }>(
      "GET",
      `/v1/tasks/${id}/artifacts/${version}`,
    )).artifact;
  }
  private action(id: string, action: string, body: Record<string, unknown>) {
    return this.request<{ task: TaskView; message: QueuedMessage }>(
      "POST",
      `/v1/tasks/${id}/${action}`,
      Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
    );
  }
  acceptTask(id: string, input: { agent?: string; note?: string } = {}) {
    return this.action(id, "accept", input);
  }
  declineTask(id: string, input: { agent?: string; reason?: string } = {}) {
    return this.action(id, "decline", input);
  }
  submitArtifact(
    id: string,
    input: {
      content: string;
      agent?: string;
      content_type?: string;
      name?: string;
      note?: string;
      files?: FileAttachment[];
    },
  ) {
    return this.action(id, "artifacts", input);
  }
  requestRevision(
    id: string,
    input: { feedback: string; agent?: string; artifact_version?: number },
  ) {
    return this.action(id, "revisions", input);
  }
  completeTask(
    id: string,
    input: { agent?: string; note?: string; artifact_version?: number } = {},
  ) {
    return this.action(id, "complete", input);
  }
  cancelTask(id: string, input: { agent?: string; reason?: string } = {}) {
    return this.action(id, "cancel", input);
  }
  approveTask(id: string): Promise<TaskDetail> {
    return this.request("POST", `/v1/tasks/${id}/approve`, {});
  }
  rejectTask(id: string, reason?: string): Promise<TaskDetail> {
    return this.request("POST", `/v1/tasks/${id}/reject`, reason ? { reason } : {});
  }

  // Quarantine
  quarantine() {
    return this.request<{ items: QuarantineItemView[] }>("GET", "/v1/quarantine");
  }
  resolveQuarantine(id: string, accept: boolean) {
    return this.request<QuarantineResolution>(
      "POST",
      `/v1/quarantine/${id}/${accept ? "accept" : "reject"}`,
      {},
    );
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
