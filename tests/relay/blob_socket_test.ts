/**
 * The relay's blob routes over real sockets: size and quota refusals store nothing; an upload cut
 * off in the middle of a chunk resumes after a relay restart on the same home; a byte flipped in
 * a stored chunk file is caught when the reader opens the blob; on PostgreSQL a blob uploaded
 * through one relay node downloads through another. (Memory over large files:
 * blob_memory_test.ts.)
 */
import { join } from "node:path";
import { assertCode, assertEquals } from "../assert.ts";
import { BLOB_SIZE_HEADER, type BlobStatus, PgBlobStore } from "../../lib/relay/blobs/mod.ts";
import { postgresBin, startPostgres } from "./pg.ts";
import {
  auth,
  CHUNK,
  code,
  download,
  type Fetch,
  json,
  put,
  relayOn,
  sealedFile,
  uploadAll,
} from "./blob_world.ts";

Deno.test("blob routes over a socket: size, quota, resume after restart, tampering", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blob-routes-" });
  let relay = await relayOn(dir);
  let server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, relay.app.fetch);
  const f: Fetch = (path, init) => fetch(`http://127.0.0.1:${server.addr.port}${path}`, init);
  try {
    // Too large: refused from the declared size, before the body; nothing stored.
    const big = await sealedFile(2 * CHUNK);
    assertEquals(await code(await put(f, "tok-alice", big, 0, 65 * CHUNK), 413), "blob_too_large");
    assertEquals(
      await code(await f(`/v1/blobs/${big.blobId}`, { headers: auth("tok-alice") }), 404),
      "blob_not_found",
    );
    // Quota: 80 KiB sealed; a 50 KiB file fits once, not twice.
    const first = await sealedFile(50 * CHUNK);
    await uploadAll(f, first);
    const second = await sealedFile(50 * CHUNK);
    assertEquals(await code(await put(f, "tok-alice", second, 0), 403), "quota_exceeded");
    assertEquals(await relay.blobs.usage("alice"), { blobs: 1, bytes: 50 * CHUNK + 50 * 16 });

    // An upload cut off in the middle of chunk 2: chunks 0-1 are stored, chunk 2 is not.
    const file = await sealedFile(5 * CHUNK + 300);
    for (const i of [0, 1]) await json(await put(f, "tok-alice", file, i), 201);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const head = `PUT /v1/blobs/${file.blobId}/chunks/2 HTTP/1.1\r\nhost: relay\r\n` +
      `authorization: Bearer tok-alice\r\ncontent-type: application/octet-stream\r\n` +
      `${BLOB_SIZE_HEADER}: ${file.bytes.length}\r\ncontent-length: ${CHUNK + 16}\r\n\r\n`;
    const cut = relay.nextRequestDone();
    await conn.write(new TextEncoder().encode(head));
    await conn.write(file.chunks[2]!.subarray(0, 500));
    conn.close();
    await cut;
    // The relay restarts on the same home; the uploader resumes from the first missing chunk.
    await server.shutdown();
    await relay.store.close();
    relay = await relayOn(dir);
    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, relay.app.fetch);
    const status = await json<BlobStatus>(
      await f(`/v1/blobs/${file.blobId}`, { headers: auth("tok-alice") }),
      200,
    );
    assertEquals([status.stored, status.next_missing, status.finalized], [[0, 1], 2, false]);
    for (let i = status.next_missing!; i < file.chunks.length; i++) {
      await json(await put(f, "tok-alice", file, i), 201);
    }
    await json(
      await f(`/v1/blobs/${file.blobId}/finalize`, { method: "POST", headers: auth("tok-alice") }),
      200,
    );
    await relay.blobs.grant("alice", [file.blobId], ["bob"]);
    assertEquals(await download(f, file), file.bytes);

    // One byte flipped in a stored chunk file: the reader's open fails, nothing is accepted.
    const path = join(dir, "chunks", file.blobId, "3");
    const stored = await Deno.readFile(path);
    stored[100]! ^= 0x20;
    await Deno.writeFile(path, stored);
    await assertCode(() => download(f, file), "blob_corrupt");
  } finally {
    await server.shutdown();
    await relay.store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "blob routes on PostgreSQL: uploaded through one node, downloaded through another",
  ignore: !postgresBin() && Deno.env.get("CI") !== "true",
  fn: async () => {
    const pg = await startPostgres();
    const url = await pg.createDatabase("blob_nodes");
    const nodes = [
      await relayOn(await PgBlobStore.open(url)),
      await relayOn(await PgBlobStore.open(url)),
    ];
    const servers = nodes.map((n) =>
      Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, n.app.fetch)
    );
    const via = (i: number): Fetch => (path, init) =>
      fetch(`http://127.0.0.1:${servers[i]!.addr.port}${path}`, init);
    try {
      const file = await sealedFile(3 * CHUNK + 1);
      await uploadAll(via(0), file);
      await nodes[0]!.blobs.grant("alice", [file.blobId], ["bob"]);
      assertEquals(await download(via(1), file), file.bytes);
      assertEquals(
        await code(
          await via(1)(`/v1/blobs/${file.blobId}/chunks/0`, { headers: auth("tok-c") }),
          403,
        ),
        "blob_access_denied",
      );
    } finally {
      for (const s of servers) await s.shutdown();
      for (const n of nodes) await n.store.close();
      await pg.stop();
    }
  },
});
