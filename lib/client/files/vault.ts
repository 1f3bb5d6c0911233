/**
 * The daemon's file store under `$home/files/` (design §12): each plaintext kept once, named by
 * its SHA-256 (hex), written to `tmp/` first and renamed into place only when complete, so a
 * file under its hash is always whole. `quarantine/` keeps what failed verification, out of
 * sight of every route.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { decodeBase64Url, encodeBase64Url, fail, newId } from "../../protocol/mod.ts";

/** A stored plaintext: base64url SHA-256 and size. */
export interface StoredFile {
  sha256: string;
  size: number;
}

/** Writes all of `bytes` at the file's position. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}

/** Reads exactly `n` bytes from the file's position (fewer only at its end). */
export async function readFull(file: Deno.FsFile, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const got = await file.read(out.subarray(at));
    if (got === null) break;
    at += got;
  }
  return out.subarray(0, at);
}

/** The plaintext files of one daemon. */
export class FileVault {
  constructor(readonly dir: string) {
    for (const sub of ["", "tmp", "quarantine"]) {
      Deno.mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    }
  }

  /** Where the plaintext with base64url SHA-256 `sha256` lives. */
  pathOf(sha256: string): string {
    const hex = [...decodeBase64Url(sha256)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return join(this.dir, hex);
  }

  /** True when the plaintext is stored. */
  has(sha256: string): boolean {
    try {
      return Deno.statSync(this.pathOf(sha256)).isFile;
    } catch {
      return false;
    }
  }

  /** A private temporary path for `label` (a download in progress, an import). */
  tmpPath(label: string): string {
    return join(this.dir, "tmp", label);
  }

  /** Moves a finished temporary file under its hash (or drops it when already stored). */
  async publish(tmp: string, sha256: string) {
    if (this.has(sha256)) await Deno.remove(tmp);
    else await Deno.rename(tmp, this.pathOf(sha256));
  }

  /** Moves a file that failed verification out of the way, for the owner to inspect. */
  async quarantine(tmp: string, label: string) {
    await Deno.rename(tmp, join(this.dir, "quarantine", label)).catch(() => {});
  }

  /**
   * Stores a byte stream, hashing as it goes (one piece in memory at a time); refuses more than
   * `maxBytes` with `body_too_large` and keeps nothing then.
   */
  async importStream(source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StoredFile> {
    const tmp = this.tmpPath(`${newId("blob")}.import`);
    const out = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    const hash = createHash("sha256");
    let size = 0;
    try {
      for await (const piece of source) {
        size += piece.length;
        if (size > maxBytes) throw fail("body_too_large", `files are limited to ${maxBytes} bytes`);
        hash.update(piece);
        await writeAll(out, piece);
      }
      await out.sync();
    } catch (err) {
      out.close();
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    out.close();
    const sha256 = encodeBase64Url(new Uint8Array(hash.digest()));
    await this.publish(tmp, sha256);
    return { sha256, size };
  }

  /** Stores a copy of the local file at `path` (a snapshot: later edits do not change it). */
  async importPath(path: string, maxBytes: number): Promise<StoredFile> {
    const file = await Deno.open(path, { read: true });
    try {
      return await this.importStream(file.readable, maxBytes);
    } finally {
      try {
        file.close();
      } catch {
        // the readable closed it
      }
    }
  }
}
