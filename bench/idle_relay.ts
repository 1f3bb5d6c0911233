/**
 * Child process of the relay suite's memory case: a fresh process that runs only a relay (so its
 * RSS holds nothing from earlier benchmark runs), adds `count` clients, takes its RSS, has
 * bench/idle_clients.ts (another child) open one authenticated idle WebSocket per client, takes
 * its RSS again and prints `{ connected, rssBefore, rssAfter, heapBefore, heapAfter, seconds }`
 * as one JSON line. Usage: `deno run -A bench/idle_relay.ts COUNT`.
 * @module
 */
import { join } from "node:path";
import { newId } from "../lib/protocol/mod.ts";
import { setLogLevel } from "../lib/log.ts";
import { generateToken, hashToken, openSqliteRelayStore, startRelay } from "../lib/relay/mod.ts";

/** Waits `ms`. */
function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

if (import.meta.main) {
  setLogLevel("error");
  const count = Number(Deno.args[0] ?? 1000);
  const dir = await Deno.makeTempDir({ prefix: "tf-bench-idle-" });
  const store = openSqliteRelayStore(join(dir, "relay.db"));
  const relay = await startRelay({ store, port: 0 });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./idle_clients.ts", import.meta.url).pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    const clients = [];
    for (let i = 0; i < count; i++) {
      const token = generateToken(`idle${i}`);
      await store.addClient(`idle${i}`, await hashToken(token), Date.now());
      clients.push({ clientId: `idle${i}`, token, deviceId: newId("dev") });
    }
    // Warm the paths a session uses (upgrade, hello, close) so their code is not counted.
    const warm = clients.slice(0, 10);
    await writer.write(
      new TextEncoder().encode(JSON.stringify({ url: relay.url, clients: warm }) + "\n"),
    );
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const line = async () => {
      let out = "";
      while (!out.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      return out;
    };
    if (!(await line()).startsWith("ready")) throw new Error("idle clients: warm-up failed");
    await writer.write(new TextEncoder().encode("close\n"));
    while (relay.relay.connectedClients > 0) await sleep(20);
    await sleep(300);

    const before = Deno.memoryUsage();
    const started = performance.now();
    await writer.write(
      new TextEncoder().encode(JSON.stringify({ url: relay.url, clients }) + "\n"),
    );
    const ready = await line();
    const seconds = (performance.now() - started) / 1000;
    if (!ready.startsWith("ready")) throw new Error(`idle clients: ${ready || "no output"}`);
    await sleep(500);
    const after = Deno.memoryUsage();
    console.log(JSON.stringify({
      connected: relay.relay.connectedClients,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      seconds,
    }));
    reader.releaseLock();
  } finally {
    await writer.close().catch(() => {});
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await relay.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
