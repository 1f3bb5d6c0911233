/**
 * The rules that relay and daemon share and that live once in lib/protocol (issue 14 item 4):
 * bearer parsing, invite codes and links, the agent profile, the wire-key fingerprint, byte
 * concatenation, error causes and the typed, validating sealEnvelope.
 */
import { assert, assertCode, assertEquals } from "../assert.ts";
import {
  AgentProfileSchema,
  concatBytes,
  fail,
  fingerprintOf,
  fromHex,
  inviteLink,
  isInviteCode,
  newId,
  parseBearer,
  parseInvite,
  sealEnvelope,
  TaskferryError,
} from "../../lib/protocol/mod.ts";
import { testKeys } from "../vectors/generate.ts";

Deno.test("parseBearer: the token of a Bearer header, null for anything else", () => {
  assertEquals(parseBearer("Bearer abc.DEF-123"), "abc.DEF-123");
  assertEquals(parseBearer("bearer   tok"), "tok", "the scheme is case-insensitive");
  for (
    const h of [undefined, null, "", "Bearer", "Bearer ", "Basic dXNlcg==", "Bearer a b", "tok"]
  ) {
    assertEquals(parseBearer(h), null, String(h));
  }
});

Deno.test("invites: codes, links with the fingerprint in the fragment, and refusals", async () => {
  const fp = "ca34-2ebe-4f36-8a61-1e3c-911d-ee0a-984c";
  const link = inviteLink("relay.example:8443", "AbCdEfGh12", fp);
  assertEquals(link, `taskferry://relay.example:8443/invite/AbCdEfGh12#fp=${fp}`);
  assertEquals(parseInvite(link), { code: "AbCdEfGh12", fingerprint: fp });
  assertEquals(parseInvite("  AbCdEfGh12 "), { code: "AbCdEfGh12", fingerprint: null });
  assertEquals(parseInvite("https://relay.example/invite/AbCdEfGh12").fingerprint, null);
  assert(isInviteCode("a_b-C123"));
  for (const bad of ["short", "x".repeat(65), "has space1", "semi;colon", 42]) {
    assert(!isInviteCode(bad), String(bad));
  }
  for (const bad of ["", "short", "https://relay.example/invite/x", "../../etc/passwd"]) {
    await assertCode(() => parseInvite(bad), "validation_failed");
  }
});

Deno.test("agent profile: bounded, strict, well-formed", () => {
  assert(AgentProfileSchema.safeParse({}).success);
  assert(
    AgentProfileSchema.safeParse({
      display_name: "Writer ✍️",
      description: "Writes release notes.",
      capabilities: ["markdown", "release-notes"],
    }).success,
  );
  for (
    const bad of [
      { display_name: "x".repeat(101) },
      { description: "x".repeat(2001) },
      { capabilities: Array(51).fill("c") },
      { capabilities: ["x".repeat(65)] },
      { display_name: "\ud800" },
      { capabilities: ["ok", "\udc00"] },
      { avatar: "http://x" },
    ]
  ) {
    assert(!AgentProfileSchema.safeParse(bad).success, JSON.stringify(bad));
  }
});

Deno.test("fingerprintOf: the identity vector's fingerprint from its wire keys", async () => {
  const vectors = JSON.parse(
    await Deno.readTextFile(new URL("../vectors/identity_v1.json", import.meta.url)),
  ) as { fingerprint: string; signing_public_key: string; encryption_public_key: string }[];
  for (const v of vectors) assertEquals(await fingerprintOf(v), v.fingerprint);
});

Deno.test("concatBytes and fromHex", () => {
  assertEquals(concatBytes(), new Uint8Array());
  assertEquals(
    concatBytes(Uint8Array.of(1), new Uint8Array(), Uint8Array.of(2, 3)),
    Uint8Array.of(1, 2, 3),
  );
  const big = new Uint8Array(10);
  assertEquals(concatBytes(big.subarray(8)), new Uint8Array(2), "views keep their bounds");
  assertEquals(fromHex("00ff7A"), Uint8Array.of(0, 255, 122));
  let threw = false;
  try {
    fromHex("abc");
  } catch {
    threw = true;
  }
  assert(threw);
});

Deno.test("TaskferryError keeps a cause and never puts it in the body", () => {
  const root = new Error("socket closed");
  const err = fail("unavailable", "relay down", undefined, { cause: root });
  assert(err instanceof TaskferryError);
  assertEquals(err.cause, root);
  assertEquals(err.toBody(), { error: { code: "unavailable", message: "relay down" } });
  assertEquals(new TaskferryError("internal").cause, undefined);
});

Deno.test("sealEnvelope is typed by the header's type and validates at run time", async () => {
  const alice = await testKeys("@alice/requester");
  const bob = await testKeys("@bob/writer");
  const header = {
    v: 1 as const,
    id: newId("msg"),
    type: "task_fail" as const,
    from: "@bob/writer",
    to: ["@alice/requester"],
    task_id: newId("task"),
    created_at: new Date().toISOString(),
    device_id: newId("dev"),
  };
  const sender = { handle: "@bob/writer", signingPrivateKey: bob.signing.privateKey };
  const to = [{ handle: "@alice/requester", encryptionPublicKey: alice.encryption.publicKey }];
  const env = await sealEnvelope(header, { reason: "gave up", code: "timeout" }, sender, to);
  assertEquals(env.type, "task_fail");
  // @ts-expect-error: `text` is not a task_fail member; the compiler refuses it...
  const wrong = () => sealEnvelope(header, { text: "gave up" }, sender, to);
  // ...and so does the run-time check, for callers that only know the type at run time.
  await assertCode(wrong, "validation_failed");
  // @ts-expect-error: `reason` is required.
  await assertCode(() => sealEnvelope(header, {}, sender, to), "validation_failed");
});
