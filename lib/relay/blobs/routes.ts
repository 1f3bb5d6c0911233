/**
 * The relay's blob routes (docs/api.md §9.1), a hono sub-app the relay mounts with one line:
 *
 *     app.route("/", blobRoutes({ blobs, authenticate: (t) => relay.authenticate(t) }));
 *
 * Bodies are sealed chunks (application/octet-stream, at most one chunk each), so a request
 * holds one chunk in memory whatever the file size. Authentication is the client's relay token
 * as a bearer, like every authenticated relay route; tokens in URLs are refused.
 */
import { Hono } from "hono";
import { fail, TaskferryError } from "../../protocol/mod.ts";
import { errorHandler, notFoundHandler, readLimited } from "../../http/mod.ts";
import { logger } from "../../log.ts";
import type { Authorize, BlobService } from "./service.ts";

const log = logger("relay-blobs");

/** The header that declares the file's plaintext size on every chunk upload. */
export const BLOB_SIZE_HEADER = "taskferry-blob-size";

/** What the blob routes need from the relay. */
export interface BlobRouteDeps {
  blobs: BlobService;
  /** The client a bearer token belongs to; throws `unauthorized`/`client_revoked` otherwise. */
  authenticate(token: string | undefined): Promise<{ id: string }>;
  /**
   * Whether `clientId` may download `blobId`: null, or the refusal. Defaults to the grants
   * recorded by `blobs.grant` when envelopes naming the blob were accepted.
   */
  authorize?: Authorize;
}

/** Parses a path or header number that must be a non-negative integer. */
function wholeNumber(text: string | undefined, what: string): number {
  if (text === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(text)) {
    throw fail("blob_chunk_invalid", `${what} must be a non-negative integer`);
  }
  return Number(text);
}

/** The blob routes as a sub-app. */
export function blobRoutes(deps: BlobRouteDeps): Hono {
  const { blobs } = deps;
  const authorize: Authorize = deps.authorize ?? ((c, b) => blobs.authorize(c, b));
  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);

  const client = (c: { req: { header(name: string): string | undefined; url: string } }) => {
    const q = new URL(c.req.url).searchParams;
    if (q.has("token") || q.has("access_token")) {
      throw fail("bad_request", "never put a token in a URL: use the Authorization header");
    }
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    return deps.authenticate(m?.[1]);
  };

  app.put("/v1/blobs/:id/chunks/:index", async (c) => {
    const { id } = await client(c);
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/octet-stream\b/i.test(type)) {
      throw fail("unsupported_media_type", "send the sealed chunk as application/octet-stream");
    }
    const index = wholeNumber(c.req.param("index"), "the chunk index");
    const size = wholeNumber(c.req.header(BLOB_SIZE_HEADER), `the ${BLOB_SIZE_HEADER} header`);
    const declared = c.req.header("content-length");
    const result = await blobs.putChunk(id, c.req.param("id"), size, index, (limit) => {
      // A declared length that cannot be right is refused before a byte is read.
      if (declared !== undefined && Number(declared) > limit) throw fail("body_too_large");
      return readLimited(c.req.raw, limit).catch((err) => {
        if (err instanceof TaskferryError) throw err;
        // The body stopped mid-chunk (the uploader went away, or this relay is shutting down):
        // nothing is stored, and the uploader may send the chunk again — a transient refusal,
        // never a reason to fail the file (it resumes from GET /v1/blobs/{id}).
        throw fail("unavailable", "the chunk body was cut off; send it again", undefined, {
          cause: err,
        });
      });
    });
    return c.json(
      { blob_id: result.blob.id, index, stored: result.stored },
      result.stored ? 201 : 200,
    );
  });

  app.get("/v1/blobs/:id", async (c) => {
    const { id } = await client(c);
    return c.json(await blobs.status(id, c.req.param("id"), authorize));
  });

  app.get("/v1/blobs/:id/chunks/:index", async (c) => {
    const { id } = await client(c);
    const blobId = c.req.param("id");
    const index = wholeNumber(c.req.param("index"), "the chunk index");
    const refusal = await authorize(id, blobId);
    if (refusal) throw fail(refusal.code, refusal.message);
    const bytes = await blobs.readChunk(id, blobId, index);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
      "cache-control": "no-store",
    });
  });

  app.post("/v1/blobs/:id/finalize", async (c) => {
    const { id } = await client(c);
    return c.json(await blobs.finalize(id, c.req.param("id")));
  });

  return app;
}
