/**
 * A scripted relay for daemon tests that need the relay to misbehave (a malicious relay, a
 * refused token, a transient refusal at a chosen moment): real HTTP and WebSocket on loopback,
 * every answer decided by the test.
 * @module
 */

/** One WebSocket session as the fake relay sees it. */
export interface FakeSession {
  /** Frames the daemon sent, parsed. */
  frames: Record<string, unknown>[];
  send(frame: unknown): void;
  /** Sends `text` as it is (not JSON-encoded). */
  sendText(text: string): void;
  close(code?: number, reason?: string): void;
}

/** What the test scripts. */
export interface FakeRelayScript {
  /** Answers `GET /v1/agents/{handle}` (default 404 `unknown_agent`). */
  agent?(handle: string): Response;
  /** Called for each frame; `hello` included. Default: welcome on hello, accept every send. */
  frame?(s: FakeSession, frame: Record<string, unknown>): void;
}

/** A running fake relay. */
export interface FakeRelay {
  url: string;
  sessions: FakeSession[];
  /** Hello frames seen (one per connection attempt that got through the handshake). */
  hellos: number;
  /** Resolves when the next frame for which `match` holds arrives on any session. */
  waitFrame(match: (f: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** The `welcome` frame a real relay sends. */
export function welcome(s: FakeSession) {
  s.send({
    type: "welcome",
    client_id: "alice",
    device_id: "dev_x",
    server_time: new Date().toISOString(),
    max_envelope_bytes: 2 * 1024 * 1024,
  });
}

/** Starts a fake relay on a free loopback port. */
export function startFakeRelay(script: FakeRelayScript = {}): FakeRelay {
  const waiters: { match: (f: Record<string, unknown>) => boolean; resolve: (f: never) => void }[] =
    [];
  const sockets = new Set<WebSocket>();
  const relay: FakeRelay = {
    url: "",
    sessions: [],
    hellos: 0,
    waitFrame: (match) =>
      new Promise((resolve) => waiters.push({ match, resolve: resolve as (f: never) => void })),
    close: async () => {
      for (const ws of sockets) ws.close();
      await server.shutdown();
    },
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/v1/ws") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      sockets.add(socket);
      const s: FakeSession = {
        frames: [],
        send: (f) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(f)),
        sendText: (t) => socket.readyState === WebSocket.OPEN && socket.send(t),
        close: (code = 1000, reason = "") => socket.close(code, reason),
      };
      relay.sessions.push(s);
      socket.onclose = () => sockets.delete(socket);
      socket.onmessage = (e) => {
        const f = JSON.parse(String(e.data)) as Record<string, unknown>;
        s.frames.push(f);
        if (f.type === "hello") relay.hellos++;
        if (script.frame) script.frame(s, f);
        else if (f.type === "hello") welcome(s);
        else if (f.type === "send") {
          const id = (f.envelope as { id: string }).id;
          s.send({ type: "accepted", id, at: new Date().toISOString() });
        }
        for (const w of [...waiters]) {
          if (w.match(f)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(f as never);
          }
        }
      };
      return response;
    }
    const m = url.pathname.match(/^\/v1\/agents\/(.+)$/);
    if (req.method === "GET" && m) {
      return script.agent?.(decodeURIComponent(m[1]!)) ??
        Response.json({ error: { code: "unknown_agent", message: "no" } }, { status: 404 });
    }
    if (req.method === "POST" && url.pathname === "/v1/agents") {
      return req.json().then((b) => Response.json({ ...b, fingerprint: "x", public: false }));
    }
    if (req.method === "PUT" && url.pathname === "/v1/permissions") return Response.json({});
    return Response.json({ error: { code: "not_found", message: "fake" } }, { status: 404 });
  });
  relay.url = `http://127.0.0.1:${server.addr.port}`;
  return relay;
}
