/**
 * A2A test helpers: the A2A sub-app served on its own loopback port in front of alice's daemon
 * (over real sockets, as an A2A client would reach it), and official `@a2a-js/sdk` clients.
 */
import {
  type Message,
  type Part,
  Role,
  type SendMessageRequest,
  type StreamResponse,
  type TaskState,
} from "@a2a-js/sdk";
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from "@a2a-js/sdk/client";
import { a2aApp } from "../../lib/a2a/mod.ts";
import type { TestDaemon } from "../client/world.ts";

/** The A2A bridge in front of one daemon. */
export interface Bridge {
  url: string;
  close(): Promise<void>;
}

/** Serves `a2aApp` for `daemon` on a fresh loopback port. */
export function startBridge(daemon: TestDaemon, waitMs = 15_000): Bridge {
  // The card's URLs name the bridge's own port, known only once it listens.
  const holder: { app?: { fetch: (r: Request) => Response | Promise<Response> } } = {};
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => holder.app!.fetch(req),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  holder.app = a2aApp({ fetch, daemonUrl: daemon.running.url, publicUrl: url, waitMs });
  return { url, close: () => server.shutdown() };
}

/** `fetch` with the bearer token added to every request. */
export function bearerFetch(token: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

/** An official SDK client for the agent at `endpoint` (card at `endpoint/.well-known/…`). */
export function sdkClient(endpoint: string, token: string) {
  const fetchImpl = bearerFetch(token);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  );
  return factory.createFromUrl(`${endpoint}/`);
}

/** A text part. */
export function text(value: string): Part {
  return { content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "" };
}

/** A user message (on `taskId` when continuing a task). */
export function userMessage(parts: Part[], taskId = "", contextId = ""): Message {
  return {
    messageId: crypto.randomUUID(),
    contextId,
    taskId,
    role: Role.ROLE_USER,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** A send request; `returnImmediately` answers without waiting for the task to settle. */
export function sendRequest(message: Message, returnImmediately = false): SendMessageRequest {
  return {
    tenant: "",
    message,
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately,
    },
    metadata: undefined,
  };
}

/** The text of parts. */
export function textOf(parts: Part[] | undefined): string {
  return (parts ?? []).map((p) => p.content?.$case === "text" ? p.content.value : "").join("");
}

/** Collects a stream in the background; `until` resolves when a matching event arrived. */
export function collect(stream: AsyncGenerator<StreamResponse>) {
  const seen: StreamResponse[] = [];
  const waiters: {
    match: (e: StreamResponse) => boolean;
    resolve: () => void;
    reject: (err: unknown) => void;
  }[] = [];
  let failed: unknown = null;
  const done = (async () => {
    try {
      for await (const e of stream) {
        seen.push(e);
        for (const w of waiters.filter((w) => w.match(e))) w.resolve();
      }
    } catch (err) {
      failed = err;
      for (const w of waiters) w.reject(err);
      throw err;
    }
  })();
  done.catch(() => {}); // observed through `done` and `until`
  return {
    seen,
    done,
    until: (match: (e: StreamResponse) => boolean) =>
      seen.some(match)
        ? Promise.resolve()
        : failed
        ? Promise.reject(failed)
        : new Promise<void>((resolve, reject) => {
          waiters.push({ match, resolve, reject });
        }),
  };
}

/** Matches a status update in `state` (whose message contains `words`, when given). */
export const isStatus = (state: TaskState, words?: string) => (e: StreamResponse) =>
  e.payload?.$case === "statusUpdate" && e.payload.value.status?.state === state &&
  (words === undefined || textOf(e.payload.value.status.message?.parts).includes(words));

/** A raw JSON-RPC call to the bridge (no SDK), with the status and the parsed body. */
export async function rpc(b: Bridge, path: string, token: string, body: unknown, headers = {}) {
  const res = await fetch(`${b.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
