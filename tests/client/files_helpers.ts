/** Shared by the files tests: marked test files, hashing, walking a directory, fetching a file. */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { eventually, type TestDaemon, type World } from "./world.ts";

/** A marker all through every test file: never in what the relay stores. */
export const MARKER = "FILES-PLAINTEXT-MARKER-5c1e";
export const MB = 1024 * 1024;

/** Writes a `size`-byte file with the marker all through it; returns its path. */
export async function markedFile(dir: string, name: string, size: number): Promise<string> {
  const path = join(dir, name);
  using f = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new TextEncoder().encode(`${MARKER} `.repeat(Math.ceil(MB / 28)).slice(0, MB));
  for (let at = 0; at < size; at += MB) {
    const piece = block.subarray(0, Math.min(MB, size - at));
    let w = 0;
    while (w < piece.length) w += await f.write(piece.subarray(w));
  }
  return path;
}

/** The SHA-256 (hex) of a stream. */
export async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<string> {
  const h = createHash("sha256");
  for await (const piece of stream) h.update(piece);
  return h.digest("hex");
}

/** `GET /v1/files/{id}` on `d`. */
export async function fetchFile(d: TestDaemon, id: string) {
  return await fetch(`${d.running.url}/v1/files/${id}`, {
    headers: { authorization: `Bearer ${d.token}` },
  });
}

/** Every file under `dir` (recursively). */
export async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

/** Sends `paths` from alice to bob as a message; returns the message id. */
export async function sendFiles(w: World, paths: string[]): Promise<string> {
  const sent = await w.alice.api.request<{ message: { id: string } }>("POST", "/v1/messages", {
    from: "@alice/requester",
    to: "@bob/writer",
    text: "files",
    files: paths.map((path) => ({ path })),
  });
  return sent.message.id;
}

/** Message `id` as `d` shows it. */
export const message = (d: TestDaemon, id: string) => d.api.message(id);

/** Waits until every file of message `id` on `d` left `pending`; returns the message. */
export function settled(d: TestDaemon, id: string, timeoutMs = 60_000) {
  return eventually(async () => {
    const m = await message(d, id).catch(() => null);
    return m?.files?.every((f) => f.state !== "pending") ? m : null;
  }, timeoutMs);
}
