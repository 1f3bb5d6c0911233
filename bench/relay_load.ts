/**
 * Load generator for the relay suite, run as a Worker (its own thread and event loop), so the
 * simulated daemons do not share the relay's JavaScript thread. It speaks the relay's
 * WebSocket frames directly: hello, send pre-built `send` frames with a bounded window, ack
 * every deliver and receipt, and time each envelope from send to deliver. It also runs the
 * WebSocket echo ceilings against a plain echo server.
 *
 * Commands come in as messages (see {@link Command}); each is answered with one message.
 * @module
 */
import { NoDelayWebSocket } from "../lib/client/ws.ts";
import { type EchoResult, type Frame, type LoadResult, readFrame } from "./relay_frames.ts";

export type { EchoResult, LoadResult };

/** One simulated daemon's credentials. */
export interface ClientSpec {
  clientId: string;
  token: string;
  deviceId: string;
}

/** Envelopes one sender sends, as ready `send` frames, to one recipient connection. */
export interface Job {
  sender: number;
  recipient: number;
  ids: string[];
  frames: string[];
}

/**
 * Which WebSocket client the simulated daemons use: Deno's built-in `WebSocket` (what daemons
 * used before) or the TCP_NODELAY client the daemon ships now (lib/client/ws.ts).
 */
export type ClientKind = "deno" | "nodelay";

/** What the load worker can be asked to do. */
export type Command =
  | { cmd: "connect"; url: string; clients: ClientSpec[]; client: ClientKind }
  | { cmd: "handshake"; jobs: Job[] }
  /** Hands the worker a run's jobs ahead of it, so copying them is outside its clock. */
  | { cmd: "stage"; jobs: Job[] }
  /** Without `jobs`, the staged ones run (and are dropped: each staged set runs once). */
  | { cmd: "throughput"; jobs?: Job[]; window: number; timeoutMs: number }
  | { cmd: "paced"; jobs?: Job[]; rate: number; timeoutMs: number }
  | {
    cmd: "echo";
    url: string;
    bytes: number;
    seconds: number;
    window: number;
    client: ClientKind;
  }
  | { cmd: "close" };

type Handler = (frame: Frame, at: number) => void;

/** The little both WebSocket clients offer here: text out, text in, close. */
interface Socket {
  send(text: string): void;
  close(): Promise<void>;
  set onmessage(fn: (data: string) => void);
}

/** Opens a socket with the chosen client. */
async function openSocket(url: string, kind: ClientKind): Promise<Socket> {
  // Both are WebSocket-shaped: the daemon's own client (lib/client/ws.ts) or Deno's built-in.
  const ws = kind === "nodelay"
    ? new NoDelayWebSocket(url) as unknown as WebSocket
    : new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`websocket error on ${url}`));
  });
  const closed = new Promise<void>((r) => ws.addEventListener("close", () => r(), { once: true }));
  return {
    send: (text) => ws.send(text),
    close: () => {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      return closed;
    },
    set onmessage(fn: (data: string) => void) {
      ws.onmessage = (e) => fn(e.data as string);
    },
  };
}

/** One authenticated connection to the relay. */
class Conn {
  handler: Handler | null = null;

  constructor(readonly ws: Socket) {
    ws.onmessage = (data) => {
      const at = performance.now();
      const frame = readFrame(data);
      // Every deliver and receipt is acked at once, whatever the phase.
      if ((frame.type === "deliver" || frame.type === "receipt") && frame.seq !== undefined) {
        ws.send(`{"type":"ack","seq":${frame.seq}}`);
      }
      this.handler?.(frame, at);
    };
  }

  static async open(url: string, spec: ClientSpec, kind: ClientKind): Promise<Conn> {
    const ws = await openSocket(url.replace(/^http/, "ws") + "/v1/ws", kind);
    return await new Promise((resolve, reject) => {
      ws.onmessage = (data) => {
        const frame = JSON.parse(data) as Frame;
        if (frame.type === "welcome") resolve(new Conn(ws));
        else reject(new Error(`hello refused for ${spec.clientId}: ${data}`));
      };
      ws.send(JSON.stringify({
        type: "hello",
        client_id: spec.clientId,
        token: spec.token,
        device_id: spec.deviceId,
      }));
    });
  }
}

let conns: Conn[] = [];
let staged: Job[] = [];

/** `jobs`, or the staged jobs when absent. */
function jobsOf(jobs: Job[] | undefined): Job[] {
  if (jobs) return jobs;
  const s = staged;
  staged = [];
  return s;
}

async function connect(url: string, clients: ClientSpec[], kind: ClientKind) {
  conns = [];
  // Bounded concurrency: a burst of hundreds of handshakes is not what is measured.
  for (let i = 0; i < clients.length; i += 50) {
    conns.push(
      ...await Promise.all(clients.slice(i, i + 50).map((c) => Conn.open(url, c, kind))),
    );
  }
}

/** Sends each job's frames one at a time, waiting for `accepted` each (connection set-up). */
async function handshake(jobs: Job[]) {
  await Promise.all(jobs.map(async (job) => {
    for (let i = 0; i < job.frames.length; i++) {
      // Frame i of a handshake job goes out on the sender (even) or recipient (odd) socket.
      const conn = conns[i % 2 === 0 ? job.sender : job.recipient]!;
      const id = job.ids[i]!;
      await new Promise<void>((resolve, reject) => {
        conn.handler = (f) => {
          if (f.type === "accepted" && f.id === id) resolve();
          else if (f.type === "error") reject(new Error(`handshake refused: ${f.code}`));
        };
        conn.ws.send(job.frames[i]!);
      });
      conn.handler = null;
    }
  }));
}

/**
 * Runs jobs and resolves when every envelope is accepted, delivered (and acked) and its
 * `delivered` receipt has come back to the sender. `pace` decides when each frame is sent.
 */
function drive(
  jobs: Job[],
  timeoutMs: number,
  start: (send: (job: number) => boolean, state: RunState) => void,
): Promise<LoadResult> {
  const total = jobs.reduce((n, j) => n + j.frames.length, 0);
  const state: RunState = {
    sentAt: new Map(),
    next: jobs.map(() => 0),
    inflight: jobs.map(() => 0),
    accepted: 0,
    failed: 0,
  };
  const delivered = new Set<string>();
  const receipted = new Set<string>();
  const latencies = new Float64Array(total);
  const errors: Record<string, number> = {};
  let t0 = 0;
  let acceptedAt = 0;
  let lastSendAt = 0;

  return new Promise((resolve) => {
    let finished = false;
    const finish = (timedOut: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const c of conns) c.handler = null;
      const now = performance.now();
      resolve({
        total,
        accepted: state.accepted,
        delivered: delivered.size,
        receipts: receipted.size,
        acceptedMs: (acceptedAt || now) - t0,
        elapsedMs: now - t0,
        sendSpanMs: lastSendAt - t0,
        latencies: latencies.slice(0, delivered.size),
        errors,
        timedOut,
      });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    const check = () => {
      if (state.accepted + state.failed < total) return;
      if (!acceptedAt) acceptedAt = performance.now();
      if (delivered.size >= state.accepted && receipted.size >= state.accepted) finish(false);
    };
    const send = (j: number): boolean => {
      const job = jobs[j]!;
      const k = state.next[j]!;
      if (k >= job.frames.length) return false;
      state.next[j] = k + 1;
      state.inflight[j]!++;
      const now = performance.now();
      if (!t0) t0 = now;
      lastSendAt = now;
      state.sentAt.set(job.ids[k]!, now);
      conns[job.sender]!.ws.send(job.frames[k]!);
      return true;
    };
    jobs.forEach((job, j) => {
      const sender = conns[job.sender]!;
      const recipient = conns[job.recipient]!;
      sender.handler = (f) => {
        if (f.type === "accepted" || (f.type === "error" && f.id)) {
          if (f.type === "accepted") state.accepted++;
          else {
            state.failed++;
            errors[f.code ?? "error"] = (errors[f.code ?? "error"] ?? 0) + 1;
          }
          state.inflight[j]!--;
          state.onAnswer?.(j);
          check();
        } else if (f.type === "receipt" && f.receipt?.state === "delivered") {
          const id = f.receipt.id!;
          if (state.sentAt.has(id)) {
            receipted.add(id);
            check();
          }
        }
      };
      recipient.handler = (f, at) => {
        if (f.type !== "deliver") return;
        const id = f.envelope?.id ?? "";
        const sent = state.sentAt.get(id);
        if (sent === undefined || delivered.has(id)) return;
        latencies[delivered.size] = at - sent;
        delivered.add(id);
        check();
      };
    });
    start(send, state);
  });
}

interface RunState {
  sentAt: Map<string, number>;
  next: number[];
  inflight: number[];
  accepted: number;
  failed: number;
  onAnswer?: (job: number) => void;
}

/** Every sender keeps up to `window` envelopes unanswered (sent, not yet accepted). */
function throughput(jobs: Job[], window: number, timeoutMs: number) {
  return drive(jobs, timeoutMs, (send, state) => {
    state.onAnswer = (j) => {
      while (state.inflight[j]! < window && send(j)) {
        // keep the window full
      }
    };
    jobs.forEach((_, j) => state.onAnswer!(j));
  });
}

/** Sends at `rate` envelopes per second overall, round-robin over the jobs, no window. */
function paced(jobs: Job[], rate: number, timeoutMs: number) {
  const order: number[] = [];
  const longest = Math.max(...jobs.map((j) => j.frames.length));
  for (let k = 0; k < longest; k++) {
    jobs.forEach((job, j) => {
      if (k < job.frames.length) order.push(j);
    });
  }
  return drive(jobs, timeoutMs, (send) => {
    const begin = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(
        order.length,
        Math.floor(((performance.now() - begin) * rate) / 1000) + 1,
      );
      while (sent < due) send(order[sent++]!);
      if (sent < order.length) setTimeout(tick, 1);
    };
    tick();
  });
}

/** Ping-pong and pipelined echo rates against a plain WebSocket echo server. */
async function echo(url: string, bytes: number, seconds: number, window: number, kind: ClientKind) {
  const ws = await openSocket(url, kind);
  const message = "x".repeat(bytes);
  let onReply: () => void = () => {};
  ws.onmessage = () => onReply();

  const sequential = await new Promise<number>((resolve) => {
    const start = performance.now();
    let n = 0;
    onReply = () => {
      n++;
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000) resolve(n / (elapsed / 1000));
      else ws.send(message);
    };
    ws.send(message);
  });

  const pipelined = await new Promise<number>((resolve) => {
    const start = performance.now();
    let replies = 0;
    let outstanding = 0;
    let stop = false;
    onReply = () => {
      replies++;
      outstanding--;
      const elapsed = performance.now() - start;
      if (elapsed >= seconds * 1000) stop = true;
      if (!stop) {
        ws.send(message);
        outstanding++;
      } else if (outstanding === 0) resolve(replies / (elapsed / 1000));
    };
    for (; outstanding < window; outstanding++) ws.send(message);
  });
  await ws.close();
  return { sequentialPerSecond: sequential, pipelinedPerSecond: pipelined };
}

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case "connect":
      await connect(command.url, command.clients, command.client);
      return { connected: conns.length };
    case "handshake":
      await handshake(command.jobs);
      return { ok: true };
    case "stage":
      staged = command.jobs;
      return { ok: true };
    case "throughput":
      return await throughput(jobsOf(command.jobs), command.window, command.timeoutMs);
    case "paced":
      return await paced(jobsOf(command.jobs), command.rate, command.timeoutMs);
    case "echo":
      return await echo(
        command.url,
        command.bytes,
        command.seconds,
        command.window,
        command.client,
      );
    case "close": {
      const closing = conns.map((c) => c.ws.close());
      await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2000))]);
      conns = [];
      return { ok: true };
    }
  }
}

// Worker scope, typed locally: this file is also type-checked with the window lib.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Command>) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = (e) => {
  handle(e.data).then(
    (result) => scope.postMessage({ ok: true, result }),
    (err) =>
      scope.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
};
