/**
 * The protocol's primitives on WebCrypto against node:crypto (lib/protocol/primitives.ts), one
 * call at a time as the daemon makes them: wall time and the whole process's CPU per call
 * (WebCrypto's work runs on other threads, so the calling thread's CPU alone would flatter it).
 * Then a whole envelope sealed to one recipient and opened. This is why design §3 moved the
 * protocol's primitives to node:crypto.
 *
 *   deno run -A --lock=tests/deno.lock bench/crypto_calls.ts
 * @module
 */
import { cpuUsage } from "node:process";
import {
  generateAgentKeys,
  newId,
  openEnvelope,
  sealEnvelope,
  x25519PublicKey,
} from "../lib/protocol/mod.ts";
import * as p from "../lib/protocol/primitives.ts";

const N = 2000;
const DEVICE = newId("dev");

/** Runs `f` N times after a warm-up; prints wall and process CPU µs per call. */
async function time(name: string, f: () => unknown): Promise<void> {
  for (let i = 0; i < 200; i++) await f();
  const c0 = cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await f();
  const wall = ((performance.now() - t0) * 1000) / N;
  const c = cpuUsage(c0);
  const cpu = (c.user + c.system) / N;
  console.log(`${name.padEnd(44)} ${wall.toFixed(1).padStart(7)} µs  CPU ${cpu.toFixed(1)} µs`);
}

const kb = new Uint8Array(1024).fill(7);
const key32 = new Uint8Array(32).fill(3);
const nonce = new Uint8Array(12);
const subtle = crypto.subtle;

const a = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]) as CryptoKeyPair;
const b = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]) as CryptoKeyPair;
const ed = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
const edSig = new Uint8Array(await subtle.sign("Ed25519", ed.privateKey, kb));
const nodeX = p.x25519Generate();
const peer = p.x25519Generate().publicKey;
const seed = new Uint8Array(32).fill(9);
const seedPub = p.ed25519PublicKey(seed);
const nodeSig = p.ed25519Sign(seed, kb);

console.log(`one call at a time, ${N} calls each`);
await time("WebCrypto X25519 key pair + raw public", async () => {
  const k = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]) as CryptoKeyPair;
  await subtle.exportKey("raw", k.publicKey);
});
await time("node:crypto X25519 key pair + raw public", () => p.x25519Generate());
await time(
  "WebCrypto X25519",
  () => subtle.deriveBits({ name: "X25519", public: b.publicKey }, a.privateKey, 256),
);
await time("node:crypto X25519", () => p.x25519(nodeX.key, peer));
await time("WebCrypto HKDF (import + derive)", async () => {
  const k = await subtle.importKey("raw", key32, "HKDF", false, ["deriveBits"]);
  await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: key32, info: kb.subarray(0, 40) },
    k,
    256,
  );
});
await time("node:crypto HKDF", () => p.hkdf(key32, key32, kb.subarray(0, 40), 32));
await time("WebCrypto AES-256-GCM 1 KB (import + encrypt)", async () => {
  const k = await subtle.importKey("raw", key32, "AES-GCM", false, ["encrypt"]);
  await subtle.encrypt({ name: "AES-GCM", iv: nonce }, k, kb);
});
await time("node:crypto AES-256-GCM 1 KB", () => p.aesGcmSeal(key32, nonce, kb));
await time("WebCrypto Ed25519 sign 1 KB", () => subtle.sign("Ed25519", ed.privateKey, kb));
await time("node:crypto Ed25519 sign 1 KB", () => p.ed25519Sign(seed, kb));
await time(
  "WebCrypto Ed25519 verify 1 KB",
  () => subtle.verify("Ed25519", ed.publicKey, edSig, kb),
);
await time("node:crypto Ed25519 verify 1 KB", () => p.ed25519Verify(seedPub, kb, nodeSig));

const alice = await generateAgentKeys();
const bob = await generateAgentKeys();
const header = () => ({
  v: 1 as const,
  id: newId("msg"),
  type: "message" as const,
  from: "@alice/bench",
  to: ["@bob/bench"],
  created_at: new Date().toISOString(),
  device_id: DEVICE,
});
const sender = { handle: "@alice/bench", signingPrivateKey: alice.signing.privateKey };
const recipients = [{ handle: "@bob/bench", encryptionPublicKey: bob.encryption.publicKey }];
const sealed = await sealEnvelope(header(), { text: "x".repeat(200) }, sender, recipients);
const bobKeys = {
  encryptionPrivateKey: bob.encryption.privateKey,
  encryptionPublicKey: await x25519PublicKey(bob.encryption.privateKey),
};
console.log("\nwhole envelopes (protocol, node:crypto), 200-character message, one recipient");
await time(
  "sealEnvelope",
  () => sealEnvelope(header(), { text: "x".repeat(200) }, sender, recipients),
);
await time(
  "openEnvelope (signature checked each time)",
  () => openEnvelope(structuredClone(sealed), "@bob/bench", bobKeys, alice.signing.publicKey),
);
