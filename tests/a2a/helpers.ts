/**
 * A2A test helpers: the A2A sub-app served on its own loopback port in front of alice's daemon
 * (over real sockets, as an A2A client would reach it), and official `@a2a-js/sdk` clients.
 */
import { type Message, type Part, Role, type SendMessageRequest } from "@a2a-js/sdk";
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
