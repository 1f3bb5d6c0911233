/**
 * Private keys wrapped at rest (issue 19.6): AES-256-GCM under a key derived with scrypt from
 * the owner's secret and a per-install salt. Each wrapped key carries its own KDF parameters
 * and salt, so stronger parameters later never strand an older key; the AAD binds it to its
 * agent and column, so a wrapped key cannot be moved to another row.
 *
 * Form: `tfk1.scrypt.<N>.<r>.<p>.<salt>.<iv>.<ciphertext+tag>` (base64url parts).
 * @module
 */
import { Buffer } from "node:buffer";
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";
import { decodeBase64Url, encodeBase64Url } from "../../protocol/mod.ts";

/** scrypt parameters and the per-install salt (base64url). */
export interface KdfParams {
  N: number;
  r: number;
  p: number;
  salt: string;
}

/** 2^15 × 8: 32 MiB and about 0.1 s per derivation; paid once per start (derived keys are cached). */
export const DEFAULT_SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;

const PREFIX = "tfk1";

/** A wrapped key (or the check value) cannot be opened: wrong secret, or damaged. */
export class UnwrapError extends Error {
  constructor(message = "cannot unwrap: wrong passphrase or damaged key") {
    super(message);
    this.name = "UnwrapError";
  }
}

/** True when `text` is a wrapped key rather than a key in clear. */
export function isWrapped(text: string): boolean {
  return text.startsWith(PREFIX + ".");
}

/** Fresh parameters for a new install: the default cost and a random 16-byte salt. */
export function newKdfParams(): KdfParams {
  return { ...DEFAULT_SCRYPT, salt: encodeBase64Url(randomBytes(16)) };
}

/** Wraps and unwraps with one secret; new wraps use `params`. */
export class KeyWrapper {
  readonly #secret: Uint8Array;
  readonly #keys = new Map<string, Uint8Array>();

  constructor(secret: string, readonly params: KdfParams) {
    this.#secret = new TextEncoder().encode(secret.normalize("NFC"));
  }

  /** `plain` wrapped, bound to `aad`. */
  wrap(plain: string, aad: string): string {
    const { N, r, p, salt } = this.params;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key(this.params), iv);
    cipher.setAAD(new TextEncoder().encode(aad));
    const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return [PREFIX, "scrypt", N, r, p, salt, encodeBase64Url(iv), encodeBase64Url(ct)].join(".");
  }

  /** The clear text of `stored`; {@link UnwrapError} when the secret or `aad` is wrong. */
  unwrap(stored: string, aad: string): string {
    const parts = stored.split(".");
    if (parts.length !== 8 || parts[0] !== PREFIX || parts[1] !== "scrypt") {
      throw new UnwrapError("not a wrapped key");
    }
    const [N, r, p] = parts.slice(2, 5).map(Number) as [number, number, number];
    // Bounds keep a damaged row from asking scrypt for gigabytes.
    if (
      !(N >= 2 && N <= 1 << 20 && (N & (N - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16)
    ) {
      throw new UnwrapError("wrapped key has unusable scrypt parameters");
    }
    try {
      const key = this.#key({ N, r, p, salt: parts[5]! });
      const body = decodeBase64Url(parts[7]!);
      if (body.length < 16) throw new UnwrapError();
      const decipher = createDecipheriv("aes-256-gcm", key, decodeBase64Url(parts[6]!));
      decipher.setAAD(new TextEncoder().encode(aad));
      decipher.setAuthTag(body.subarray(body.length - 16));
      const plain = Buffer.concat([
        decipher.update(body.subarray(0, body.length - 16)),
        decipher.final(),
      ]);
      return plain.toString("utf8");
    } catch (err) {
      if (err instanceof UnwrapError) throw err;
      throw new UnwrapError();
    }
  }

  #key(params: KdfParams): Uint8Array {
    const id = `${params.N}.${params.r}.${params.p}.${params.salt}`;
    let key = this.#keys.get(id);
    if (!key) {
      const { N, r, p } = params;
      key = scryptSync(this.#secret, decodeBase64Url(params.salt), 32, {
        N,
        r,
        p,
        maxmem: 256 * N * r + 1024 * 1024,
      });
      this.#keys.set(id, key);
    }
    return key;
  }
}
