/** Starts a relay: store + routing core + HTTP server. Used by the CLI, demo and tests. */
import { logger } from "../log.ts";
import { relayApp } from "./app.ts";
import { DEFAULT_RELAY_OPTIONS, Relay, type RelayOptions } from "./relay.ts";
import type { RelayStore } from "./store.ts";

const log = logger("relay");

/** A running relay. */
export interface RunningRelay {
  relay: Relay;
  /** `http://host:port` actually bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `store` on `hostname:port` (port 0 picks a free one). */
export async function startRelay(opts: {
  store: RelayStore;
  hostname?: string;
  port?: number;
  options?: Partial<RelayOptions>;
}): Promise<RunningRelay> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const options = { ...DEFAULT_RELAY_OPTIONS, ...opts.options };
  const relay = new Relay(opts.store, options);
  const app = relayApp(relay);
  const ac = new AbortController();
  let server: Deno.HttpServer;
  const port = await new Promise<number>((resolve) => {
    server = Deno.serve({
      hostname,
      port: opts.port ?? 8080,
      signal: ac.signal,
      onListen: ({ port }) => resolve(port),
    }, app.fetch);
  });
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  if (!opts.options?.publicUrl) options.publicUrl = url;
  await relay.start();
  log.info("relay listening", { url, public_url: options.publicUrl, node_id: relay.nodeId });
  return {
    relay,
    url,
    port,
    close: async () => {
      await relay.stop();
      ac.abort();
      await server.finished;
      await opts.store.close();
    },
  };
}
