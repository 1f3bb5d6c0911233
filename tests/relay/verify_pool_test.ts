/**
 * The relay's signature Worker (lib/relay/verify_pool.ts): every signature is checked, a
 * refusal carries the code and message `verifyEnvelope` gives, and checks in flight when the
 * Worker goes away are finished on the calling thread.
 */
import { assert, assertEquals } from "../assert.ts";
import { setImmediate } from "node:timers";
import {
  decodeBase64Url,
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  newId,
  parseReceivedEnvelope,
  sealEnvelope,
  TaskferryError,
  verifyEnvelope,
} from "../../lib/protocol/mod.ts";
import { SignatureVerifier, WORKER_MIN_BATCH } from "../../lib/relay/verify_pool.ts";

async function sealed(count: number) {
  const a = await generateAgentKeys();
  const b = await generateAgentKeys();
  const out: Envelope[] = [];
  for (let i = 0; i < count; i++) {
    const env = await sealEnvelope(
      {
        v: 1,
        id: newId("msg"),
        type: "message",
        from: "@a/x",
        to: ["@b/y"],
        created_at: new Date().toISOString(),
        device_id: newId("dev"),
      },
      { text: `hello ${i}` },
      { handle: "@a/x", signingPrivateKey: a.signing.privateKey },
      [{ handle: "@b/y", encryptionPublicKey: b.encryption.publicKey }],
    );
    // As the relay reads it off the wire: the hand-checked, frozen form.
    out.push(parseReceivedEnvelope(JSON.parse(JSON.stringify(env))));
  }
  return { key: encodeBase64Url(a.signing.publicKey), other: b, envelopes: out };
}

/** The refusal, as {code, message}, or "ok". */
async function outcome(p: Promise<void>): Promise<unknown> {
  try {
    await p;
    return "ok";
  } catch (err) {
    assert(err instanceof TaskferryError, String(err));
    return { code: err.code, message: err.message };
  }
}

/** A copy with one signature character changed (still base64url of 64 bytes). */
function tampered(env: Envelope): Envelope {
  const sig = env.sig[0] === "A" ? "B" + env.sig.slice(1) : "A" + env.sig.slice(1);
  return parseReceivedEnvelope({ ...structuredClone(env), sig });
}

Deno.test("verify pool: good signatures pass, bad ones are refused as verifyEnvelope refuses", async () => {
  const { key, other, envelopes } = await sealed(40);
  const verifier = new SignatureVerifier();
  try {
    const cases: [Envelope, string][] = [];
    for (const env of envelopes) cases.push([env, key], [tampered(env), key]);
    cases.push([envelopes[0]!, encodeBase64Url(other.signing.publicKey)]);
    // A public key of small order would verify forged signatures: refused.
    cases.push([envelopes[1]!, encodeBase64Url(new Uint8Array(32))]);
    // All at once: they go to the Worker together.
    const got = await Promise.all(cases.map(([e, k]) => outcome(verifier.verify(e, k))));
    const want = await Promise.all(
      cases.map(([e, k]) => outcome(verifyEnvelope(e, decodeBase64Url(k)))),
    );
    assertEquals(got, want);
    assertEquals(got.filter((g) => g === "ok").length, 40);
    assertEquals(verifier.passedInWorker, 40, "the Worker checked them");
  } finally {
    verifier.close();
  }
});

Deno.test("verify pool: checks in flight when it closes, and after, run on this thread", async () => {
  const { key, envelopes } = await sealed(10);
  const verifier = new SignatureVerifier();
  const inFlight = envelopes.map((e, i) => outcome(verifier.verify(i % 2 ? tampered(e) : e, key)));
  verifier.close();
  const after = await outcome(verifier.verify(tampered(envelopes[0]!), key));
  const got = await Promise.all(inFlight);
  assertEquals(got.filter((g) => g === "ok").length, 5);
  assertEquals(after, { code: "bad_signature", message: (got[1] as { message: string }).message });
  assertEquals(await outcome(verifier.verify(envelopes[2]!, key)), "ok");
});

Deno.test("verify pool: a small turn is checked on this thread, a large one in the Worker", async () => {
  const { key, envelopes } = await sealed(WORKER_MIN_BATCH);
  const verifier = new SignatureVerifier();
  try {
    // One check in a turn: posting it to the Worker would cost more than checking it here.
    assertEquals(await outcome(verifier.verify(envelopes[0]!, key)), "ok");
    assertEquals(await outcome(verifier.verify(tampered(envelopes[1]!), key)), {
      code: "bad_signature",
      message: await outcome(verifyEnvelope(tampered(envelopes[1]!), decodeBase64Url(key)))
        .then((r) => (r as { message: string }).message),
    });
    assertEquals(verifier.passedInWorker, 0);
    const got = await Promise.all(envelopes.map((e) => outcome(verifier.verify(e, key))));
    assert(got.every((g) => g === "ok"));
    assertEquals(verifier.passedInWorker, WORKER_MIN_BATCH);
  } finally {
    verifier.close();
  }
});

Deno.test("verify pool: a small turn goes to the Worker while it is still busy with earlier ones", async () => {
  const { key, envelopes } = await sealed(WORKER_MIN_BATCH + 1);
  const verifier = new SignatureVerifier();
  try {
    // A first, large turn: to the Worker, which has yet to start and check it.
    const large = Promise.all(envelopes.slice(1).map((e) => outcome(verifier.verify(e, key))));
    await new Promise((resolve) => setImmediate(resolve));
    // The next turn holds one check: with the Worker busy, it is queued behind the first.
    const small = outcome(verifier.verify(envelopes[0]!, key));
    assert((await large).every((g) => g === "ok"));
    assertEquals(await small, "ok");
    assertEquals(verifier.passedInWorker, WORKER_MIN_BATCH + 1);
  } finally {
    verifier.close();
  }
});
