/**
 * Test harness: an in-process relay on port 0 with its own temp database, and simulated
 * daemons built only from lib/protocol (HTTP registration + WebSocket frames).
 */
import {
  type AgentKeys,
  DEFAULT_PERMISSIONS,
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  type MessageType,
  newId,
  type Permissions,
  registrationInput,
  type RelayFrame,
  sealEnvelope,
  sign,
} from "../../lib/protocol/mod.ts";
import {
  generateToken,
  hashToken,
  openSqliteRelayStore,
  type RelayOptions,
  type RunningRelay,
  startRelay,
} from "../../lib/relay/mod.ts";
import { join } from "node:path";
import { DiskBlobStore } from "../../lib/relay/blobs/mod.ts";

/** Something a test opened against a relay and must close before the relay stops. */
export interface Closable {
  close(): void;
  readonly closed: Promise<unknown>;
}

/** A relay under test with its temp dir. */
export interface TestRelay extends RunningRelay {
  dir: string;
  dbPath: string;
  addClient(id: string): Promise<string>;
  restart(): Promise<TestRelay>;
  /** Sockets opened through the helpers below; {@link withRelay} closes them. */
  sockets: Set<Closable>;
}

/** Starts a relay on a free port with a fresh database (or `dir`'s existing one). */
export async function startTestRelay(
  options: Partial<RelayOptions> = {},
  dir?: string,
  port = 0,
): Promise<TestRelay> {
  const home = dir ?? await Deno.makeTempDir({ prefix: "tf-relay-" });
  const dbPath = join(home, "relay.db");
  const store = openSqliteRelayStore(dbPath);
  // Files (design §12): chunk files under the relay's dir, as `taskferry relay` keeps them.
  const blobs = await DiskBlobStore.open(join(home, "blobs"));
  const running = await startRelay({ store, port, options, blobs });
  let closing: Promise<void> | undefined;
  const relay: TestRelay = {
    ...running,
    // Idempotent: a test may close the relay itself (e.g. to read the database files).
    close: () => closing ??= running.close(),
    sockets: new Set(),
    dir: home,
    dbPath,
    async addClient(id: string) {
      const token = generateToken(id);
      await store.addClient(id, await hashToken(token), Date.now());
      return token;
    },
    async restart() {
      await relay.close();
      return await startTestRelay(options, home, running.port);
    },
  };
  return relay;
}

/** Closes every socket opened through the helpers (waiting briefly for each close). */
export async function closeSockets(relay: { sockets?: Set<Closable> }) {
  const sockets = [...(relay.sockets ?? [])];
  relay.sockets?.clear();
  await Promise.all(sockets.map(async (s) => {
    try {
      s.close();
    } catch {
      // already closed
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      s.closed,
      new Promise((r) => timer = setTimeout(r, 1000)),
    ]);
    clearTimeout(timer);
  }));
}

/**
 * Runs `fn` against a fresh relay, then closes every tracked socket, the relay and its store,
 * and removes the temp dir — whatever `fn` did.
 */
export async function withRelay(
  options: Partial<RelayOptions>,
  fn: (relay: TestRelay) => Promise<void>,
): Promise<void> {
  const relay = await startTestRelay(options);
  try {
    await fn(relay);
  } finally {
    await closeSockets(relay);
    await relay.close();
    await Deno.remove(relay.dir, { recursive: true }).catch(() => {});
  }
}

/** An HTTP answer with its parsed JSON body (null when not JSON). */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Calls the relay's HTTP API; `body` is sent as JSON unless `rawBody` is given. */
export async function api(
  relay: { url: string },
  method: string,
  path: string,
  opts: {
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | null = opts.rawBody ?? null;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(relay.url + path, { method, headers, body });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, body: json };
}

/** A raw WebSocket on /v1/ws that records frames and the close event (no hello sent). */
export class RawSocket implements Closable {
  readonly frames: Record<string, unknown>[] = [];
  readonly closed: Promise<CloseEvent>;
  readonly opened: Promise<boolean>;

  constructor(relay: { url: string; sockets?: Set<Closable> }, path = "/v1/ws") {
    const ws = new WebSocket(relay.url.replace(/^http/, "ws") + path);
    this.ws = ws;
    relay.sockets?.add(this);
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e)));
    this.opened = new Promise((resolve) => {
      ws.addEventListener("open", () => resolve(true));
      ws.addEventListener("error", () => resolve(false));
    });
    ws.addEventListener("message", (e) => this.frames.push(JSON.parse(e.data as string)));
  }

  private readonly ws: WebSocket;

  /** Sends a value (strings as they are, anything else as JSON). */
  send(value: unknown) {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }

  close() {
    this.ws.close();
  }
}

/** A simulated agent: handle + keys. */
export interface SimAgent {
  handle: string;
  keys: AgentKeys;
}

/** Registers a new agent over HTTP and returns it. */
export async function registerAgent(
  relay: { url: string },
  token: string,
  clientId: string,
  name: string,
  opts: { public?: boolean } = {},
): Promise<SimAgent> {
  const handle = `@${clientId}/${name}`;
  const keys = await generateAgentKeys();
  const res = await postRegistration(relay, token, clientId, handle, keys, opts);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return { handle, keys };
}

/** POSTs a registration (for tests that check refusals too). */
export async function postRegistration(
  relay: { url: string },
  token: string,
  clientId: string,
  handle: string,
  keys: AgentKeys,
  opts: { public?: boolean; proofKeys?: AgentKeys; rotation?: string } = {},
): Promise<Response> {
  const pub = {
    signing_public_key: encodeBase64Url(keys.signing.publicKey),
    encryption_public_key: encodeBase64Url(keys.encryption.publicKey),
  };
  const proof = await sign(
    (opts.proofKeys ?? keys).signing.privateKey,
    registrationInput(handle, pub, clientId),
  );
  const body: Record<string, unknown> = { handle, ...pub, proof: encodeBase64Url(proof) };
  if (opts.public !== undefined) body.public = opts.public;
  if (opts.rotation) body.rotation = opts.rotation;
  return await fetch(`${relay.url}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** A simulated daemon's WebSocket session. */
export class SimSession {
  readonly frames: RelayFrame[] = [];
  private waiters: { match: (f: RelayFrame) => boolean; resolve: (f: RelayFrame) => void }[] = [];
  readonly closed: Promise<CloseEvent>;

  private constructor(readonly ws: WebSocket, readonly deviceId: string) {
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e)));
    ws.addEventListener("message", (e) => {
      const frame = JSON.parse(e.data as string) as RelayFrame;
      this.frames.push(frame);
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
  }

  /** Opens a socket and completes hello; rejects if the relay refuses it. */
  static async connect(
    relay: { url: string; sockets?: Set<Closable> },
    clientId: string,
    token: string,
    opts: { deviceId?: string; autoAck?: boolean; resume?: number } = {},
  ): Promise<SimSession> {
    const ws = new WebSocket(relay.url.replace(/^http/, "ws") + "/v1/ws");
    const session = new SimSession(ws, opts.deviceId ?? newId("dev"));
    relay.sockets?.add(session);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("ws error"));
    });
    const hello: Record<string, unknown> = {
      type: "hello",
      client_id: clientId,
      token,
      device_id: session.deviceId,
    };
    if (opts.resume !== undefined) hello.resume = opts.resume;
    session.raw(hello);
    const first = await session.next((f) => f.type === "welcome" || f.type === "error");
    if (first.type === "error") throw new Error(`hello refused: ${first.code}`);
    if (opts.autoAck) {
      ws.addEventListener("message", (e) => {
        const f = JSON.parse(e.data as string) as RelayFrame;
        if (f.type === "deliver" || f.type === "receipt") session.raw({ type: "ack", seq: f.seq });
      });
    }
    return session;
  }

  /** Sends any JSON value as a frame. */
  raw(value: unknown) {
    this.ws.send(typeof value === "string" ? value : JSON.stringify(value));
  }

  /** Resolves with the first frame (already received or future) matching `match`. */
  next(match: (f: RelayFrame) => boolean, timeoutMs = 5000): Promise<RelayFrame> {
    const seen = this.frames.find(match);
    if (seen) {
      this.frames.splice(this.frames.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for a frame")), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          this.frames.splice(this.frames.indexOf(f), 1);
          resolve(f);
        },
      });
    });
  }

  /** Sends an envelope and returns the relay's answer (`accepted` or `error`). */
  async send(envelope: Envelope | unknown): Promise<RelayFrame> {
    const id = (envelope as { id?: string } | null)?.id;
    this.raw({ type: "send", envelope });
    return await this.next((f) =>
      (f.type === "accepted" && f.id === id) || (f.type === "error" && (f.id === id || !f.id))
    );
  }

  close() {
    this.ws.close();
  }
}

/** Seals an envelope from `from` to `to` with sensible defaults. */
export async function seal(
  from: SimAgent,
  to: SimAgent[],
  type: MessageType,
  payload: unknown,
  header: Partial<Envelope> & { device_id: string },
): Promise<Envelope> {
  return await sealEnvelope(
    {
      v: 1,
      id: header.id ?? newId("msg"),
      type,
      from: from.handle,
      to: to.map((t) => t.handle),
      created_at: header.created_at ?? new Date().toISOString(),
      device_id: header.device_id,
      ...(header.task_id ? { task_id: header.task_id } : {}),
      ...(header.reply_to ? { reply_to: header.reply_to } : {}),
      ...(header.conversation_id ? { conversation_id: header.conversation_id } : {}),
    },
    payload,
    { handle: from.handle, signingPrivateKey: from.keys.signing.privateKey },
    to.map((t) => ({ handle: t.handle, encryptionPublicKey: t.keys.encryption.publicKey })),
  );
}

/** Two clients with one agent each, connected both ways. */
export async function connectedPair(relay: TestRelay, opts: { autoAck?: boolean } = {}) {
  const aliceToken = await relay.addClient("alice");
  const bobToken = await relay.addClient("bob");
  const alice = await registerAgent(relay, aliceToken, "alice", "requester");
  const bob = await registerAgent(relay, bobToken, "bob", "writer", { public: true });
  const a = await SimSession.connect(relay, "alice", aliceToken, opts);
  const b = await SimSession.connect(relay, "bob", bobToken, opts);
  const req = await seal(alice, [bob], "connection_request", { note: "hi" }, {
    device_id: a.deviceId,
  });
  const r1 = await a.send(req);
  if (r1.type !== "accepted") throw new Error(`request refused: ${JSON.stringify(r1)}`);
  const acc = await seal(bob, [alice], "connection_accept", { request_id: req.id }, {
    device_id: b.deviceId,
    reply_to: req.id,
  });
  const r2 = await b.send(acc);
  if (r2.type !== "accepted") throw new Error(`accept refused: ${JSON.stringify(r2)}`);
  return { alice, bob, a, b, aliceToken, bobToken };
}

/** `from` asks `to` for a connection and `to` accepts it; throws if the relay refuses either. */
export async function connectAgents(
  from: SimAgent,
  fromSession: SimSession,
  to: SimAgent,
  toSession: SimSession,
): Promise<void> {
  const req = await seal(from, [to], "connection_request", {}, {
    device_id: fromSession.deviceId,
  });
  const r1 = await fromSession.send(req);
  if (r1.type !== "accepted") throw new Error(`request refused: ${JSON.stringify(r1)}`);
  const acc = await seal(to, [from], "connection_accept", { request_id: req.id }, {
    device_id: toSession.deviceId,
    reply_to: req.id,
  });
  const r2 = await toSession.send(acc);
  if (r2.type !== "accepted") throw new Error(`accept refused: ${JSON.stringify(r2)}`);
}

/** PUT /v1/permissions as `agent`'s owner: what `peer` may send to `agent` (defaults + patch). */
export async function setPermissions(
  relay: { url: string },
  token: string,
  agent: SimAgent,
  peer: SimAgent,
  patch: Partial<Permissions>,
): Promise<ApiResponse> {
  return await api(relay, "PUT", "/v1/permissions", {
    token,
    body: {
      agent: agent.handle,
      peer: peer.handle,
      permissions: { ...DEFAULT_PERMISSIONS, ...patch },
    },
  });
}

/** The id of a delivered envelope. */
export function envelopeId(frame: RelayFrame): string {
  if (frame.type !== "deliver") throw new Error(`not a deliver frame: ${JSON.stringify(frame)}`);
  return (frame.envelope as { id: string }).id;
}

/** Takes the next `n` deliver frames of `session`, in order, acking each when `ack` is set. */
export async function takeDeliveries(
  session: SimSession,
  n: number,
  opts: { ack?: boolean; timeoutMs?: number } = {},
): Promise<{ seq: number; id: string }[]> {
  const out: { seq: number; id: string }[] = [];
  while (out.length < n) {
    const f = await session.next((f) => f.type === "deliver", opts.timeoutMs ?? 5000);
    if (f.type !== "deliver") throw new Error("unreachable");
    out.push({ seq: f.seq, id: envelopeId(f) });
    if (opts.ack) session.raw({ type: "ack", seq: f.seq });
  }
  return out;
}
