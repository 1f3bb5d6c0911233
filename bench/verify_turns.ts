/**
 * CPU per signature check by turn size: through the relay's signature Worker (every turn sent
 * to it), on the calling thread as the relay checks there (node:crypto, lib/relay/ed25519.ts),
 * and with the protocol's `verifyEnvelope` (JCS, then the same node:crypto check). It sets
 * lib/relay/verify_pool.ts's WORKER_MIN_BATCH.
 *
 *   deno run -A --lock=tests/deno.lock bench/verify_turns.ts
 * @module
 */
import { cpuUsage } from "node:process";
import {
  encodeBase64Url,
  type Envelope,
  generateAgentKeys,
  newId,
  parseReceivedEnvelope,
  sealEnvelope,
  verifyEnvelope,
} from "../lib/protocol/mod.ts";
import { SignatureVerifier } from "../lib/relay/verify_pool.ts";

const a = await generateAgentKeys();
const b = await generateAgentKeys();
const envs: Envelope[] = [];
for (let i = 0; i < 16; i++) {
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
    { text: "benchmark message ".repeat(20) },
    { handle: "@a/x", signingPrivateKey: a.signing.privateKey },
    [{ handle: "@b/y", encryptionPublicKey: b.encryption.publicKey }],
  );
  envs.push(parseReceivedEnvelope(JSON.parse(JSON.stringify(env))));
}
const key = encodeBase64Url(a.signing.publicKey);
const worker = new SignatureVerifier(1);
const here = new SignatureVerifier(Infinity); // every turn on this thread (node:crypto)
const N = 3000;
for (const turn of [1, 2, 4, 8, 16]) {
  // Alternated, twice: the machine is shared.
  for (const mode of ["Worker", "this thread", "protocol", "Worker", "this thread", "protocol"]) {
    const c0 = cpuUsage();
    for (let i = 0; i < N; i += turn) {
      const some = envs.slice(0, turn);
      await Promise.all(
        some.map((e) =>
          mode === "Worker"
            ? worker.verify(e, key)
            : mode === "this thread"
            ? here.verify(e, key)
            : verifyEnvelope(e, a.signing.publicKey)
        ),
      );
      await new Promise((r) => setTimeout(r, 0)); // one turn each
    }
    const c = cpuUsage(c0);
    console.log(`turn of ${turn}, ${mode}: ${((c.user + c.system) / N).toFixed(0)} µs CPU/check`);
  }
}
worker.close();
here.close();
