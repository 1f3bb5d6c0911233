/**
 * The daemon's own WebSocket client (lib/client/ws.ts): a relay behind TLS with a private CA,
 * keepalive pings answered, the upgrade checked, one write per frame.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { NoDelayWebSocket } from "../../lib/client/ws.ts";
import {
  DEFAULT_RELAY_OPTIONS,
  openSqliteRelayStore,
  Relay,
  relayApp,
} from "../../lib/relay/mod.ts";
import { generateToken, hashToken } from "../../lib/relay/mod.ts";
import { eventually, startTestDaemon } from "./world.ts";

/** A private CA and a server certificate for localhost signed by it (as a relay might use). */
async function privateCa(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const openssl = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    "/CN=TaskFerry test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ]);
  await openssl(["req", ...ec, "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "req.csr"]);
  await Deno.writeTextFile(
    join(dir, "ext.cnf"),
    "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "req.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
    "-out",
    "cert.pem",
  ]);
  const read = (name: string) => Deno.readTextFile(join(dir, name));
  return { ca: await read("ca.pem"), cert: await read("cert.pem"), key: await read("key.pem") };
}

function opened(ws: NoDelayWebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("close", () => reject(new Error("closed before open")), { once: true });
  });
}

Deno.test({
  name: "ws: two daemons work through a relay behind TLS (wss://, private CA)",
  ignore: !(await new Deno.Command("which", { args: ["openssl"] }).output()).success,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tf-tls-" });
    const { ca, cert, key } = await privateCa(dir);
    const store = openSqliteRelayStore(join(dir, "relay.db"));
    const relay = new Relay(store, { ...DEFAULT_RELAY_OPTIONS, publicUrl: "https://localhost" });
    const ac = new AbortController();
    const port = await new Promise<number>((resolve) => {
      Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        cert,
        key,
        signal: ac.signal,
        onListen: ({ port }) => resolve(port),
      }, relayApp(relay).fetch);
    });
    await relay.start();
    const url = `https://localhost:${port}`;
    const tokens: Record<string, string> = {};
    for (const id of ["alice", "bob"]) {
      tokens[id] = generateToken(id);
      await store.addClient(id, await hashToken(tokens[id]!), Date.now());
    }
    const alice = await startTestDaemon({ url }, "alice", {
      relayToken: tokens.alice!,
      relayCaCerts: [ca],
    });
    const bob = await startTestDaemon({ url }, "bob", {
      relayToken: tokens.bob!,
      relayCaCerts: [ca],
    });
    try {
      await alice.api.createAgent({ handle: "@alice/a" });
      await bob.api.createAgent({ handle: "@bob/b", public: true });
      await eventually(async () =>
        (await alice.api.health()).relay.connected && (await bob.api.health()).relay.connected
      );
      await alice.api.connect({ from: "@alice/a", to: "@bob/b" });
      await bob.api.waitForInbox("@bob/b", (m) => m.type === "connection_request");
      await bob.api.acceptConnection("@alice/a");
      await alice.api.waitForInbox("@alice/a", (m) => m.type === "connection_accept");
      const big = "x".repeat(200_000); // several TCP segments and a 64-bit length frame
      const sent = await alice.api.send({ from: "@alice/a", to: "@bob/b", text: big });
      const got = await bob.api.waitForInbox("@bob/b", (m) => m.id === sent.message.id);
      assertEquals(got.item.payload.text, big);
    } finally {
      await alice.close();
      await bob.close();
      await relay.stop();
      ac.abort();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ws: server keepalive pings are answered; a refused upgrade is an error", async () => {
  const ac = new AbortController();
  const port = await new Promise<number>((resolve) => {
    Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: ac.signal,
      onListen: ({ port }) => resolve(port),
    }, (req) => {
      if (new URL(req.url).pathname !== "/ws") return new Response("no", { status: 404 });
      // The server pings after 1 s idle and closes if no pong comes back.
      const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 1 });
      socket.onmessage = (e) => socket.send(`echo:${e.data}`);
      return response;
    });
  });
  try {
    const ws = new NoDelayWebSocket(`ws://127.0.0.1:${port}/ws`);
    await opened(ws);
    await new Promise((r) => setTimeout(r, 2500)); // two idle periods: pings must be answered
    assertEquals(ws.readyState, NoDelayWebSocket.OPEN);
    const echoed = new Promise<string>((resolve) =>
      ws.addEventListener("message", (e) => resolve((e as MessageEvent).data), { once: true })
    );
    ws.send("é".repeat(40_000));
    assertEquals(await echoed, `echo:${"é".repeat(40_000)}`);
    const closed = new Promise<CloseEvent>((r) =>
      ws.addEventListener("close", (e) => r(e as CloseEvent))
    );
    ws.close(1000, "done");
    assertEquals((await closed).code, 1000);

    const refused = new NoDelayWebSocket(`ws://127.0.0.1:${port}/nope`);
    const error = new Promise<boolean>((r) => refused.addEventListener("error", () => r(true)));
    const gone = new Promise((r) => refused.addEventListener("close", r));
    assert(await error);
    await gone;
    assertEquals(refused.readyState, NoDelayWebSocket.CLOSED);
  } finally {
    ac.abort();
  }
});
