/**
 * The daemon's client of the relay's blob routes (docs/api.md §9.1): status for resume, one
 * sealed chunk per request up or down, finalize. Errors come back as catalogue errors; a relay
 * that cannot be reached is `unavailable` (the transfer retries later).
 */
import { fail, isErrorCode, TaskferryError } from "../../protocol/mod.ts";

/** `GET /v1/blobs/{id}`: what the relay holds of a blob. */
export interface RelayBlobStatus {
  blob_id: string;
  size: number;
  chunks: number;
  stored: number[];
  next_missing: number | null;
  finalized: boolean;
}

/** Calls the relay's blob routes with the client's token. */
export class RelayBlobs {
  private readonly client: Deno.HttpClient | undefined;
  /** Aborted (and renewed) when the relay link drops: see {@link abortInFlight}. */
  private inFlight = new AbortController();

  constructor(readonly baseUrl: string, private readonly token: string, caCerts?: string[]) {
    this.client = caCerts ? Deno.createHttpClient({ caCerts }) : undefined;
  }

  private async call(
    method: string,
    path: string,
    extra: { body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    let res: Response;
    try {
      const init: RequestInit & { client?: Deno.HttpClient } = {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...extra.headers },
        signal: AbortSignal.any([this.inFlight.signal, AbortSignal.timeout(120_000)]),
      };
      if (extra.body) init.body = extra.body as Uint8Array<ArrayBuffer>;
      if (this.client) init.client = this.client;
      res = await fetch(this.baseUrl.replace(/\/+$/, "") + path, init);
    } catch (err) {
      throw fail("unavailable", `relay unreachable: ${(err as Error).message}`);
    }
    if (res.ok) return res;
    const text = await res.text();
    let e: { code?: unknown; message?: unknown } | undefined;
    try {
      e = (JSON.parse(text) as { error?: typeof e }).error;
    } catch {
      // not JSON
    }
    if (e && isErrorCode(e.code)) {
      throw new TaskferryError(e.code, `relay: ${String(e.message ?? e.code)}`);
    }
    throw fail("unavailable", `relay answered ${res.status}`);
  }

  /** Abandons every request in flight (they fail `unavailable` and are retried later). */
  abortInFlight() {
    this.inFlight.abort(new Error("the relay link dropped"));
    this.inFlight = new AbortController();
  }

  /** The blob's status, or null when the relay has no such blob. */
  async status(blobId: string): Promise<RelayBlobStatus | null> {
    try {
      return await (await this.call("GET", `/v1/blobs/${blobId}`)).json();
    } catch (err) {
      if (err instanceof TaskferryError && err.code === "blob_not_found") return null;
      throw err;
    }
  }

  /** Uploads sealed chunk `index` of a blob of `size` plaintext bytes. */
  async putChunk(blobId: string, size: number, index: number, sealed: Uint8Array) {
    const res = await this.call("PUT", `/v1/blobs/${blobId}/chunks/${index}`, {
      body: sealed,
      headers: {
        "content-type": "application/octet-stream",
        "taskferry-blob-size": String(size),
      },
    });
    await res.body?.cancel();
  }

  /** Downloads sealed chunk `index`. */
  async getChunk(blobId: string, index: number): Promise<Uint8Array> {
    const res = await this.call("GET", `/v1/blobs/${blobId}/chunks/${index}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Marks the uploaded blob complete. */
  async finalize(blobId: string) {
    await (await this.call("POST", `/v1/blobs/${blobId}/finalize`)).body?.cancel();
  }
}
