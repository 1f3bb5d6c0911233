import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  type AgentKeys,
  generateAgentKeys,
  newId,
  openEnvelope,
  parseEnvelope,
  sealEnvelope,
  TaskferryError,
} from "../../lib/protocol/mod.ts";

function header(from: string, to: string[]) {
  return {
    v: 1 as const,
    id: newId("msg"),
    type: "message" as const,
    from,
    to,
    created_at: new Date().toISOString(),
    device_id: newId("dev"),
  };
}

const recipientKeys = (k: AgentKeys) => ({
  encryptionPrivateKey: k.encryption.privateKey,
  encryptionPublicKey: k.encryption.publicKey,
});

Deno.test("seal and open round-trip for one recipient", async () => {
  const alice = await generateAgentKeys();
  const bob = await generateAgentKeys();
  const env = await sealEnvelope(
    header("@alice/a", ["@bob/b"]),
    { text: "hello" },
    { handle: "@alice/a", signingPrivateKey: alice.signing.privateKey },
    [{ handle: "@bob/b", encryptionPublicKey: bob.encryption.publicKey }],
  );
  assertEquals(parseEnvelope(JSON.parse(JSON.stringify(env))), env);
  const plain = await openEnvelope(env, "@bob/b", recipientKeys(bob), alice.signing.publicKey);
  assertEquals(plain, { text: "hello" });
});

Deno.test("a key that is not the sender's fails with bad_signature", async () => {
  const alice = await generateAgentKeys();
  const bob = await generateAgentKeys();
  const mallory = await generateAgentKeys();
  const env = await sealEnvelope(
    header("@alice/a", ["@bob/b"]),
    { text: "hello" },
    { handle: "@alice/a", signingPrivateKey: alice.signing.privateKey },
    [{ handle: "@bob/b", encryptionPublicKey: bob.encryption.publicKey }],
  );
  const err = await assertRejects(
    () => openEnvelope(env, "@bob/b", recipientKeys(bob), mallory.signing.publicKey),
    TaskferryError,
  );
  assert(err instanceof TaskferryError);
  assertEquals(err.code, "bad_signature");
});
