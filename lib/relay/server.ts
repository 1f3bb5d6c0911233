/**
 * Starts a relay: store + routing core + HTTP server. Used by the CLI, demo and tests.
 *
 * With a certificate and key the relay serves HTTPS and WSS itself (issue 19 item 1). Deno cannot
 * swap the certificate of a live listener, and shutting a listener down closes the WebSockets it
 * upgraded (code 1001). So {@link RunningRelay.reloadTls} first checks the new pair, then rebinds
 * the same address with it: requests in flight finish, sessions are closed with 1001 and daemons
 * reconnect at once (their first retry is a fraction of a second), resending anything not yet
 * acknowledged. A pair that does not load leaves the old listener serving.
 */
import { logger } from "../log.ts";
import { relayApp } from "./app.ts";
import { DEFAULT_RELAY_OPTIONS, Relay, type RelayOptions } from "./relay.ts";
import type { RelayStore } from "./store.ts";
import { blobRoutes, BlobService, type BlobStore, blobSweeper } from "./blobs/mod.ts";

const log = logger("relay");

/** PEM files for serving TLS directly. */
export interface RelayTlsFiles {
  certFile: string;
  keyFile: string;
}

/** A running relay. */
export interface RunningRelay {
  relay: Relay;
  /** `http(s)://host:port` actually bound. */
  url: string;
  port: number;
  /** Re-reads the TLS files and rebinds with them (see the module comment). */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

/** How long a rebind waits for the old listener's port to be released. */
const REBIND_TIMEOUT_MS = 5_000;

/** A certificate or key that cannot be read or does not load (a configuration error). */
export class TlsFilesError extends Error {
  override name = "TlsFilesError";
}

/** Reads and checks a certificate/key pair; throws {@link TlsFilesError} naming the file at fault. */
export function loadTlsFiles(files: RelayTlsFiles): { cert: string; key: string } {
  const read = (path: string, what: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch (err) {
      throw new TlsFilesError(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const pair = { cert: read(files.certFile, "certificate"), key: read(files.keyFile, "key") };
  // Binding a throwaway loopback listener is the one way to have Deno parse the pair now, rather
  // than when the real listener is already gone.
  try {
    Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...pair }).close();
  } catch (err) {
    throw new TlsFilesError(
      `the TLS certificate ${files.certFile} and key ${files.keyFile} do not load: ` +
        `${(err as Error).message}`,
    );
  }
  return pair;
}

/** Serves `store` on `hostname:port` (port 0 picks a free one), over TLS when `tls` is given. */
export async function startRelay(opts: {
  store: RelayStore;
  hostname?: string;
  port?: number;
  options?: Partial<RelayOptions>;
  tls?: RelayTlsFiles | undefined;
  /** Where files are kept (design §12); without it the relay refuses envelopes with files. */
  blobs?: BlobStore | undefined;
}): Promise<RunningRelay> {
  const hostname = opts.hostname ?? "127.0.0.1";
  const options = { ...DEFAULT_RELAY_OPTIONS, ...opts.options };
  const relay = new Relay(opts.store, options);
  const app = relayApp(relay);
  // Files (design §12): the blob routes, the accept-time grant and the expiry sweep.
  if (opts.blobs) {
    const blobs = new BlobService(opts.blobs, {
      maxFileBytes: options.maxFileBytes,
      quotaBytes: options.blobQuotaBytes,
      retentionMs: options.retentionMs,
    });
    relay.blobs = blobs;
    app.route("/", blobRoutes({ blobs, authenticate: (t) => relay.authenticate(t) }));
    relay.attachCompanion(blobSweeper(blobs));
  }
  let pair = opts.tls ? loadTlsFiles(opts.tls) : undefined;
  const listen = async (port: number) => {
    let bound!: (port: number) => void;
    const listening = new Promise<number>((resolve) => bound = resolve);
    // onListen may run before Deno.serve returns, so the port and the server meet here.
    const server = Deno.serve({
      hostname,
      port,
      ...pair,
      onListen: ({ port }) => bound(port),
    }, app.fetch);
    return { server, port: await listening };
  };
  let { server, port } = await listen(opts.port ?? 8080);
  const scheme = opts.tls ? "https" : "http";
  const url = `${scheme}://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  if (!opts.options?.publicUrl) options.publicUrl = url;
  await relay.start();
  log.info("relay listening", { url, public_url: options.publicUrl, node_id: relay.nodeId });
  let reloading = Promise.resolve();
  const reload = async () => {
    if (!opts.tls) throw new Error("this relay serves plain HTTP; there is no TLS to reload");
    const next = loadTlsFiles(opts.tls); // throws, leaving the old listener up, when broken
    await server.shutdown();
    pair = next;
    const deadline = Date.now() + REBIND_TIMEOUT_MS;
    for (;;) {
      try {
        ({ server, port } = await listen(port));
        break;
      } catch (err) {
        // The old socket is released asynchronously after shutdown.
        if (!(err instanceof Deno.errors.AddrInUse) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    log.info("TLS certificate reloaded; sessions reconnect", { url, cert: opts.tls.certFile });
  };
  return {
    relay,
    url,
    port,
    reloadTls: () => reloading = reloading.catch(() => {}).then(reload),
    close: async () => {
      await reloading.catch(() => {});
      await relay.stop();
      await server.shutdown();
      await opts.store.close();
      await opts.blobs?.close();
    },
  };
}
