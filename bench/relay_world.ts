/**
 * The relay suite's world (bench/relay.ts, bench/peers.ts): a relay on a fresh SQLite database,
 * agents registered over HTTP, sender → recipient pairs connected through a pre-sealed
 * connection exchange, pre-sealed message traffic, and the load Worker (bench/relay_load.ts)
 * that plays the simulated daemons.
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type AgentKeys,
  DEFAULT_PERMISSIONS,
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  type MessageType,
  newId,
  registrationInput,
  sealEnvelope,
  sign,
} from "../lib/protocol/mod.ts";
import {
  generateToken,
  hashToken,
  openSqliteRelayStore,
  type RelayStore,
  type RunningRelay,
  startRelay,
} from "../lib/relay/mod.ts";
import type { ClientKind, ClientSpec, Command, Job } from "./relay_load.ts";

/** The suite name the relay's rows carry. */
export const RELAY_SUITE = "relay";
/**
 * Unanswered envelopes (sent, not yet accepted) a sender may have out: 32, but at most ~320
 * across all senders. The runs are closed loops, so latency ≈ envelopes in flight ÷ rate
 * (Little's law): a bigger total window only lengthens the queue inside the relay.
 */
export const WINDOW = 32;
const TOTAL_WINDOW = 320;

/** The per-sender window the relay suite uses at `senders` senders. */
export function windowFor(senders: number): number {
  return Math.max(2, Math.min(WINDOW, Math.floor(TOTAL_WINDOW / senders)));
}
/** Plaintext of each benchmark message: `{"text":"…"}` of this many bytes. */
const PLAINTEXT_BYTES = 1_000;

/** A registered agent with its client's credentials and session device. */
export interface Agent {
  clientId: string;
  token: string;
  handle: string;
  keys: AgentKeys;
  deviceId: string;
}

/** A relay with a fresh database in a temp dir. */
export interface BenchRelay {
  running: RunningRelay;
  store: RelayStore;
  dir: string;
  close(): Promise<void>;
}

/** Profiling hooks (used by ad-hoc profiling scripts, not by the suite itself). */
export const hooks: { wrapStore?: (store: RelayStore) => RelayStore; prefill?: number } = {};

/**
 * Fills a fresh relay database with `count` delivered envelopes (as a busy relay holds within
 * its retention window: the envelopes, their deliveries deleted by the acks), in batched
 * transactions, before the relay opens it.
 */
export function prefill(path: string, count: number) {
  openSqliteRelayStore(path).close(); // create and migrate
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF");
  const body = JSON.stringify({ ciphertext: "x".repeat(1000) });
  const insEnv = db.prepare(
    `INSERT INTO envelopes (id, sender_client, from_handle, recipients, type, body, accepted_at)
     VALUES (?, 'old', '@old/a', '["@old/b"]', 'message', ?, ?)`,
  );
  const now = Date.now();
  for (let done = 0; done < count;) {
    db.exec("BEGIN");
    for (const end = Math.min(count, done + 50_000); done < end; done++) {
      const id = newId("msg");
      insEnv.run(id, body, now);
    }
    db.exec("COMMIT");
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  // Written with synchronous=OFF: wait for the kernel's writeback of the file (about 1 GB at
  // 1M rows) here, or it competes with the measured run for the disk and the CPU.
  const file = Deno.openSync(path, { read: true, write: true });
  file.syncSync();
  file.close();
}

export async function startBenchRelay(): Promise<BenchRelay> {
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-relay-" });
  if (hooks.prefill) prefill(join(dir, "relay.db"), hooks.prefill);
  const opened = openSqliteRelayStore(join(dir, "relay.db"));
  const store = hooks.wrapStore ? hooks.wrapStore(opened) : opened;
  // The client-wide limit is an operator setting: raised so that the bench measures the relay,
  // not the limiter. Link limits are raised per connection below, as an owner would.
  const running = await startRelay({
    store,
    port: 0,
    options: { clientRatePerMinute: 10_000_000 },
  });
  return {
    running,
    store,
    dir,
    close: async () => {
      await running.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A new agent (keys, token, device) for client `clientId`; registered per relay later. */
export async function newAgent(clientId: string, name: string): Promise<Agent> {
  return {
    clientId,
    token: generateToken(clientId),
    handle: `@${clientId}/${name}`,
    keys: await generateAgentKeys(),
    deviceId: newId("dev"),
  };
}

/** Adds the agent's client and registers the agent over HTTP (proof of possession included). */
export async function register(relay: BenchRelay, agent: Agent) {
  await relay.store.addClient(agent.clientId, await hashToken(agent.token), Date.now());
  const pub = {
    signing_public_key: encodeBase64Url(agent.keys.signing.publicKey),
    encryption_public_key: encodeBase64Url(agent.keys.encryption.publicKey),
  };
  const proof = await sign(
    agent.keys.signing.privateKey,
    registrationInput(agent.handle, pub, agent.clientId),
  );
  const res = await fetch(`${relay.running.url}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
    body: JSON.stringify({
      handle: agent.handle,
      ...pub,
      proof: encodeBase64Url(proof),
      public: true,
    }),
  });
  if (res.status !== 201) {
    throw new Error(`register ${agent.handle}: ${res.status} ${await res.text()}`);
  }
  await res.body?.cancel();
}

/** Seals one envelope from `from` to `to` and wraps it in a `send` frame. */
export async function sealFrame(
  from: Agent,
  to: Agent,
  type: MessageType,
  payload: unknown,
  replyTo?: string,
): Promise<{ id: string; frame: string; envelope: Envelope }> {
  const id = newId("msg");
  const envelope = await sealEnvelope(
    {
      v: 1,
      id,
      type,
      from: from.handle,
      to: [to.handle],
      created_at: new Date().toISOString(),
      device_id: from.deviceId,
      ...(replyTo ? { reply_to: replyTo } : {}),
    },
    payload,
    { handle: from.handle, signingPrivateKey: from.keys.signing.privateKey },
    [{ handle: to.handle, encryptionPublicKey: to.keys.encryption.publicKey }],
  );
  return { id, frame: `{"type":"send","envelope":${JSON.stringify(envelope)}}`, envelope };
}

export const TEXT = { text: "x".repeat(PLAINTEXT_BYTES - JSON.stringify({ text: "" }).length) };

/** `count` pre-sealed messages per pair, as load jobs. */
export async function sealJobs(pairs: Pair[], count: number): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const p of pairs) {
    const job: Job = { sender: p.senderIndex, recipient: p.recipientIndex, ids: [], frames: [] };
    for (let k = 0; k < count; k++) {
      const { id, frame } = await sealFrame(p.sender, p.recipient, "message", TEXT);
      job.ids.push(id);
      job.frames.push(frame);
    }
    jobs.push(job);
  }
  return jobs;
}

/** The load worker, one command at a time. */
export class Load {
  private readonly worker = new Worker(new URL("./relay_load.ts", import.meta.url).href, {
    type: "module",
  });

  call<T>(command: Command): Promise<T> {
    return new Promise((resolve, reject) => {
      this.worker.onmessage = (e: MessageEvent<{ ok: boolean; result?: T; error?: string }>) => {
        if (e.data.ok) resolve(e.data.result as T);
        else reject(new Error(`load worker: ${e.data.error}`));
      };
      this.worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`load worker crashed: ${e.message}`));
      };
      this.worker.postMessage(command);
    });
  }

  terminate() {
    this.worker.terminate();
  }
}

/** A sender → recipient pair with the load worker's connection indices. */
export interface Pair {
  sender: Agent;
  recipient: Agent;
  senderIndex: number;
  recipientIndex: number;
}

/**
 * `n` pairs s<i> → r<i> with the connection handshake pre-sealed. Agents live outside any one
 * relay, so the same sealed envelopes run against fresh relays with either WebSocket client.
 */
export interface PairSet {
  pairs: Pair[];
  handshakes: Job[];
}

export async function makePairs(n: number): Promise<PairSet> {
  const pairs: Pair[] = [];
  for (let i = 0; i < n; i++) {
    pairs.push({
      sender: await newAgent(`s${i}`, "sender"),
      recipient: await newAgent(`r${i}`, "recipient"),
      senderIndex: i,
      recipientIndex: n + i,
    });
  }
  const handshakes: Job[] = [];
  for (const p of pairs) {
    const req = await sealFrame(p.sender, p.recipient, "connection_request", { note: "bench" });
    const acc = await sealFrame(
      p.recipient,
      p.sender,
      "connection_accept",
      { request_id: req.id },
      req.id,
    );
    handshakes.push({
      sender: p.senderIndex,
      recipient: p.recipientIndex,
      ids: [req.id, acc.id],
      frames: [req.frame, acc.frame],
    });
  }
  return { pairs, handshakes };
}

/**
 * A fresh relay with the pairs registered, their sockets open in the load worker (with
 * `client`), connected by a connection_request/accept exchange, and each link's rate limit
 * raised by the recipient's owner.
 */
export async function pairedRelay(
  set: PairSet,
  load: Load,
  client: ClientKind,
): Promise<BenchRelay> {
  const relay = await startBenchRelay();
  try {
    const agents = [...set.pairs.map((p) => p.sender), ...set.pairs.map((p) => p.recipient)];
    for (let i = 0; i < agents.length; i += 20) {
      await Promise.all(agents.slice(i, i + 20).map((a) => register(relay, a)));
    }
    const clients: ClientSpec[] = agents.map((a) => ({
      clientId: a.clientId,
      token: a.token,
      deviceId: a.deviceId,
    }));
    await load.call({ cmd: "connect", url: relay.running.url, clients, client });
    await load.call({ cmd: "handshake", jobs: set.handshakes });
    for (const p of set.pairs) {
      const res = await fetch(`${relay.running.url}/v1/permissions`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${p.recipient.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          agent: p.recipient.handle,
          peer: p.sender.handle,
          permissions: { ...DEFAULT_PERMISSIONS, max_rate_per_minute: 100_000 },
        }),
      });
      if (!res.ok) throw new Error(`permissions: ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    }
    return relay;
  } catch (err) {
    await load.call({ cmd: "close" }).catch(() => {});
    await relay.close();
    throw err;
  }
}
