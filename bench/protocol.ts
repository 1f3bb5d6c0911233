/**
 * Protocol suite: the per-envelope costs every relay and daemon pays. Ed25519 through
 * lib/protocol/crypto.ts (with its imported-key cache) next to a raw WebCrypto verify with a
 * pre-imported key (the ceiling the wrapper can approach), then whole-envelope seal and open.
 * @module
 */
import {
  type AgentKeys,
  type EnvelopeHeader,
  generateAgentKeys,
  newId,
  openEnvelope,
  type Recipient,
  sealEnvelope,
  sign,
  verify,
} from "../lib/protocol/mod.ts";
import type { BenchOptions, BenchRow } from "./main.ts";

/** The signed message for the Ed25519 cases: about the size of a small envelope's JCS form. */
const SIGNED_BYTES = 1024;

/** Plaintext sizes: bytes of the JSON `{"text":"…"}`; 1 MB stays under the 1,000,000-char cap. */
const SIZES = [
  { label: "1 kB", bytes: 1_000 },
  { label: "1 MB", bytes: 1_000_000 },
] as const;

const RECIPIENT_COUNTS = [1, 10] as const;

/** A `message` plaintext whose JSON text is exactly `bytes` long. */
function plaintextOf(bytes: number): { text: string } {
  const overhead = JSON.stringify({ text: "" }).length;
  return { text: "x".repeat(bytes - overhead) };
}

function header(from: string, to: string[]): EnvelopeHeader {
  return {
    v: 1,
    id: newId("msg"),
    type: "message",
    from,
    to,
    conversation_id: newId("conv"),
    created_at: new Date().toISOString(),
    device_id: newId("dev"),
  };
}

/** Runs the protocol suite. */
export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const sender = await generateAgentKeys();
  const message = crypto.getRandomValues(new Uint8Array(SIGNED_BYTES));
  const signature = await sign(sender.signing.privateKey, message);

  rows.push(
    await opts.measure(
      `Ed25519 sign (${SIGNED_BYTES} B, crypto.ts)`,
      () => sign(sender.signing.privateKey, message),
    ),
  );
  rows.push(
    await opts.measure(`Ed25519 verify (${SIGNED_BYTES} B, crypto.ts)`, async () => {
      if (!await verify(sender.signing.publicKey, message, signature)) throw new Error("verify");
    }),
  );
  const rawKey = await crypto.subtle.importKey(
    "raw",
    sender.signing.publicKey.slice().buffer,
    "Ed25519",
    false,
    ["verify"],
  );
  const rawSig = signature.slice().buffer;
  const rawMessage = message.slice().buffer;
  rows.push(
    await opts.measure(
      `Ed25519 verify (${SIGNED_BYTES} B, raw WebCrypto, pre-imported key)`,
      async () => {
        if (!await crypto.subtle.verify("Ed25519", rawKey, rawSig, rawMessage)) {
          throw new Error("verify");
        }
      },
    ),
  );

  const peers: AgentKeys[] = [];
  for (let i = 0; i < Math.max(...RECIPIENT_COUNTS); i++) peers.push(await generateAgentKeys());
  const from = "@bench/sender";
  const senderRef = { handle: from, signingPrivateKey: sender.signing.privateKey };

  for (const count of RECIPIENT_COUNTS) {
    const to = peers.slice(0, count).map((_, i) => `@bench/peer-${i}`);
    const recipients: Recipient[] = to.map((handle, i) => ({
      handle,
      encryptionPublicKey: peers[i]!.encryption.publicKey,
    }));
    for (const size of SIZES) {
      const plaintext = plaintextOf(size.bytes);
      const label = `${count} recipient${count === 1 ? "" : "s"}, ${size.label}`;
      rows.push(
        await opts.measure(
          `sealEnvelope (${label})`,
          () => sealEnvelope(header(from, to), plaintext, senderRef, recipients),
          { bytes: size.bytes },
        ),
      );
      // One recipient opens its own entry, the last in the list (the worst case for lookup).
      const envelope = await sealEnvelope(header(from, to), plaintext, senderRef, recipients);
      const me = peers[count - 1]!;
      const keys = {
        encryptionPrivateKey: me.encryption.privateKey,
        encryptionPublicKey: me.encryption.publicKey,
      };
      rows.push(
        await opts.measure(
          `openEnvelope (${label})`,
          () => openEnvelope(envelope, to[count - 1]!, keys, sender.signing.publicKey),
          { bytes: size.bytes },
        ),
      );
    }
  }
  return rows;
}
