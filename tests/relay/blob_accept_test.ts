/**
 * The relay's accept path for envelopes with files (design §12): the signed header's `blobs`
 * must name blobs the sender's client uploaded and finalized (else `blob_not_found`,
 * `blob_incomplete`, `blob_access_denied`, and nothing is queued); once accepted, the
 * recipients' clients may download the chunks, and nobody else (a third client, the uploader).
 */
import { assertEquals } from "../assert.ts";
import {
  encodeBase64Url,
  type Envelope,
  importBlobKey,
  newId,
  randomBytes,
  sealBlobChunk,
  sealEnvelope,
} from "../../lib/protocol/mod.ts";
import { connectedPair, type SimAgent, type SimSession, startTestRelay } from "./sim.ts";

const BYTES = new TextEncoder().encode("a small file\n");

/** Uploads a one-chunk blob as the client of `token`; finalizes it unless told not to. */
async function upload(url: string, token: string, finalize = true) {
  const id = newId("blob");
  const key = randomBytes(32);
  const sealed = await sealBlobChunk(await importBlobKey(key), id, 0, true, BYTES);
  const put = await fetch(`${url}/v1/blobs/${id}/chunks/0`, {
    method: "PUT",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/octet-stream",
      "taskferry-blob-size": String(BYTES.length),
    },
    body: sealed as Uint8Array<ArrayBuffer>,
  });
  assertEquals(put.status, 201, await put.text());
  if (finalize) {
    const fin = await fetch(`${url}/v1/blobs/${id}/finalize`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(fin.status, 200, await fin.text());
  }
  return { id, key };
}

/** A message from `from` to `to` carrying blob `id` (header `blobs` and payload `files`). */
function fileMessage(from: SimAgent, to: SimAgent, s: SimSession, id: string): Promise<Envelope> {
  const file = {
    blob_id: id,
    name: "a.txt",
    size: BYTES.length,
    media_type: "text/plain",
    sha256: encodeBase64Url(randomBytes(32)),
    key: encodeBase64Url(randomBytes(32)),
  };
  return sealEnvelope(
    {
      v: 1,
      id: newId("msg"),
      type: "message",
      from: from.handle,
      to: [to.handle],
      created_at: new Date().toISOString(),
      device_id: s.deviceId,
      conversation_id: newId("conv"),
      blobs: [id],
    },
    { files: [file] },
    { handle: from.handle, signingPrivateKey: from.keys.signing.privateKey },
    [{ handle: to.handle, encryptionPublicKey: to.keys.encryption.publicKey }],
  );
}

const chunk = (url: string, id: string, token: string) =>
  fetch(`${url}/v1/blobs/${id}/chunks/0`, { headers: { authorization: `Bearer ${token}` } });

Deno.test("relay accept: an envelope names only its sender's finished blobs; then only recipients read", async () => {
  const relay = await startTestRelay();
  try {
    const { alice, bob, a, aliceToken, bobToken } = await connectedPair(relay, {
      autoAck: true,
    });
    const carol = await relay.addClient("carol");
    const refused = async (id: string, code: string) => {
      const answer = await a.send(await fileMessage(alice, bob, a, id));
      assertEquals(answer.type === "error" ? answer.code : answer.type, code);
    };
    await refused(newId("blob"), "blob_not_found");
    const open = await upload(relay.url, aliceToken, false);
    await refused(open.id, "blob_incomplete");
    const bobs = await upload(relay.url, bobToken);
    await refused(bobs.id, "blob_access_denied");
    // Refused envelopes granted nothing.
    assertEquals((await chunk(relay.url, bobs.id, aliceToken)).status, 403);

    const mine = await upload(relay.url, aliceToken);
    assertEquals((await chunk(relay.url, mine.id, bobToken)).status, 403, "before the envelope");
    const ok = await a.send(await fileMessage(alice, bob, a, mine.id));
    assertEquals(ok.type, "accepted");
    const got = await chunk(relay.url, mine.id, bobToken);
    assertEquals(got.status, 200);
    assertEquals((await got.arrayBuffer()).byteLength, BYTES.length + 16);
    assertEquals((await chunk(relay.url, mine.id, carol)).status, 403, "a third client");
    assertEquals((await chunk(relay.url, mine.id, aliceToken)).status, 403, "the uploader");
  } finally {
    await relay.close();
    await Deno.remove(relay.dir, { recursive: true }).catch(() => {});
  }
});
