/**
 * What a successful run submits: the result text (stdout, or what a preset extracted) plus the
 * text files the child wrote to `TASKFERRY_OUTPUT_DIR`, as named parts when the daemon API has no
 * files (with files, worker/files.ts sends them as files) — all within the API body limit.
 */
import { join } from "node:path";

/** Largest artifact content sent, in UTF-8 bytes (the loopback API takes bodies up to 1 MiB). */
export const MAX_ARTIFACT_BYTES = 512 * 1024;
/** Files in the output directory beyond this many are listed, not attached. */
const MAX_OUTPUT_FILES = 20;

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, saying so at the end. */
export function boundText(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  return bytes.length <= maxBytes ? text : cutBytes(bytes, maxBytes, bytes.length);
}

/** The first bytes of `bytes` that fit in `maxBytes` with a note saying `total` was cut. */
function cutBytes(bytes: Uint8Array, maxBytes: number, total: number): string {
  const note = `\n[… cut at ${maxBytes} bytes of ${total}; the full text is kept by the worker]\n`;
  const keep = maxBytes - new TextEncoder().encode(note).length;
  // A multi-byte character cut in half decodes to U+FFFD at the end: drop it.
  return new TextDecoder().decode(bytes.subarray(0, keep)).replace(/\uFFFD$/, "") + note;
}

/**
 * Reads at most `maxBytes` of the file at `path` as text (a huge stdout or output file is never
 * read whole into memory); a cut says so.
 */
export function readBounded(path: string, maxBytes = MAX_ARTIFACT_BYTES): string {
  const size = Deno.statSync(path).size;
  if (size <= maxBytes) return Deno.readTextFileSync(path);
  const file = Deno.openSync(path);
  try {
    const buf = new Uint8Array(maxBytes);
    let got = 0;
    while (got < maxBytes) {
      const n = file.readSync(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    return cutBytes(buf.subarray(0, got), maxBytes, size);
  } finally {
    file.close();
  }
}

/** Text files written to `dir` (sorted by name), skipping binaries and subdirectories. */
export function readOutputFiles(dir: string): { name: string; text: string }[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].filter((e) => e.isFile).sort((a, b) =>
      a.name < b.name ? -1 : 1
    );
  } catch {
    return [];
  }
  const out: { name: string; text: string }[] = [];
  for (const e of entries.slice(0, MAX_OUTPUT_FILES)) {
    const path = join(dir, e.name);
    const size = Deno.statSync(path).size;
    let text: string;
    try {
      text = size > MAX_ARTIFACT_BYTES
        ? readBounded(path)
        : new TextDecoder("utf-8", { fatal: true }).decode(Deno.readFileSync(path));
    } catch {
      text = `[binary file, ${size} bytes: not attached until file transfer exists]`;
    }
    out.push({ name: e.name, text });
  }
  return out;
}

/**
 * The artifact content: the result, then each output file under a `--- file: NAME ---` line.
 * With no files, the result alone (so a plain command's stdout is the artifact, byte for byte).
 */
export function composeArtifact(result: string, files: { name: string; text: string }[]): string {
  if (!files.length) return boundText(result, MAX_ARTIFACT_BYTES);
  const parts = [result.replace(/\n*$/, "\n")];
  for (const f of files) parts.push(`\n--- file: ${f.name} ---\n${f.text.replace(/\n*$/, "\n")}`);
  return boundText(parts.join(""), MAX_ARTIFACT_BYTES);
}
