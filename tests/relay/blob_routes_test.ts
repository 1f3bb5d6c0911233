/**
 * The relay's blob routes (lib/relay/blobs/routes.ts) in process (`app.request`), mounted with
 * one `app.route` line as the relay will: a file sealed by the protocol code goes up chunk by
 * chunk and comes down byte-identical to the one reader granted; a third client, the uploader
 * and strangers cannot download; the stored files hold no plaintext; a custom `authorize` decides
 * reads when the relay passes one. Over a socket: blob_socket_test.ts.
 */
import { assert, assertEquals } from "../assert.ts";
import { newId } from "../../lib/protocol/mod.ts";
import { BLOB_SIZE_HEADER } from "../../lib/relay/blobs/mod.ts";
import {
  auth,
  CHUNK,
  code,
  download,
  type Fetch,
  MARKER,
  put,
  relayOn,
  sealedFile,
  storedText,
  uploadAll,
} from "./blob_world.ts";

Deno.test("blob routes in process: only the granted reader downloads, byte-identical", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blob-routes-" });
  const relay = await relayOn(dir);
  const f: Fetch = async (path, init) => await relay.app.request(path, init);
  try {
    const file = await sealedFile(5 * CHUNK + 7);
    assertEquals(file.chunks.length, 6);
    const done = await uploadAll(f, file);
    assertEquals([done.finalized, done.stored.length, done.next_missing], [true, 6, null]);
    const chunk0 = `/v1/blobs/${file.blobId}/chunks/0`;
    // Before any envelope names it, nobody reads; the uploader never reads chunks.
    assertEquals(
      await code(await f(chunk0, { headers: auth("tok-bob") }), 403),
      "blob_access_denied",
    );
    await relay.blobs.grant("alice", [file.blobId], ["bob"]);
    assertEquals(await download(f, file), file.bytes);
    for (const token of ["tok-c", "tok-alice"]) {
      assertEquals(
        await code(await f(chunk0, { headers: auth(token) }), 403),
        "blob_access_denied",
      );
    }
    assertEquals(
      await code(await f(`/v1/blobs/${file.blobId}`, { headers: auth("tok-c") }), 403),
      "blob_access_denied",
    );
    assertEquals(await code(await f(chunk0), 401), "unauthorized");
    assertEquals(await code(await f(`${chunk0}?token=tok-bob`), 400), "bad_request");
    const text = await f(`/v1/blobs/${newId("blob")}/chunks/0`, {
      method: "PUT",
      headers: { ...auth("tok-alice"), "content-type": "text/plain", [BLOB_SIZE_HEADER]: "3" },
      body: "abc",
    });
    assertEquals(await code(text, 415), "unsupported_media_type");
    assertEquals(await code(await put(f, "tok-c", file, 0), 403), "blob_access_denied");
    // The relay's files hold ciphertext only.
    const stored = await storedText(dir);
    assert(stored.length > 6 * CHUNK);
    assert(!stored.includes(MARKER) && !stored.includes("MARKER"));
  } finally {
    await relay.store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("blob routes: a relay-supplied authorize decides reads and status", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-blob-routes-" });
  // The relay's own facts (here: carol may read anything, nobody else) replace the grants.
  const relay = await relayOn(
    dir,
    (client) => Promise.resolve(client === "carol" ? null : { code: "forbidden", message: "no" }),
  );
  const f: Fetch = async (path, init) => await relay.app.request(path, init);
  try {
    const file = await sealedFile(2 * CHUNK + 3);
    await uploadAll(f, file);
    assertEquals(await download(f, file, "tok-c"), file.bytes);
    const res = await f(`/v1/blobs/${file.blobId}`, { headers: auth("tok-bob") });
    assertEquals(await code(res, 403), "forbidden");
  } finally {
    await relay.store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
