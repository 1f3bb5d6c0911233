/**
 * `/v1/files` (docs/api.md, "Files"): post a file for clients that cannot share the daemon's
 * filesystem (its id is then attached as `{file_id}`), and read a received or sent file once it
 * is verified. Bodies stream both ways: one piece in memory at a time.
 */
import { Hono } from "hono";
import { fail } from "../../protocol/mod.ts";
import { keptBody } from "../../http/mod.ts";
import type { Daemon } from "../daemon.ts";

/**
 * The only types `?inline=1` serves for display (the dashboard's previews), each with the exact
 * content type sent: raster images and plain text. Never HTML, SVG or anything scriptable.
 */
const INLINE: Readonly<Record<string, string>> = {
  "image/png": "image/png",
  "image/jpeg": "image/jpeg",
  "image/gif": "image/gif",
  "image/webp": "image/webp",
  "text/plain": "text/plain; charset=utf-8",
};

/** The inline content type for a sender-chosen media type, or undefined (a download). */
export function inlineType(media: string): string | undefined {
  const base = media.split(";")[0]!.trim().toLowerCase();
  return Object.hasOwn(INLINE, base) ? INLINE[base] : undefined;
}

/** The file routes. */
export function fileRoutes(d: Daemon): Hono {
  const app = new Hono();
  app.post("/files", async (c) => {
    const name = c.req.query("name");
    if (!name) throw fail("validation_failed", "name the file: POST /v1/files?name=report.pdf");
    const type = c.req.header("content-type");
    const media = type && !/^application\/octet-stream\b/i.test(type) ? type : undefined;
    // A JSON-typed upload was read already by the idempotency guard: its bytes are kept.
    const kept = keptBody(c.req.raw);
    const body = kept
      ? (async function* () {
        yield kept;
      })()
      : c.req.raw.body ??
        (async function* () {})();
    const row = await d.files.post(body, name, media);
    return c.json({
      file: {
        file_id: row.id,
        name: row.name,
        size: row.size,
        media_type: row.media_type,
        sha256: row.sha256,
      },
    }, 201);
  });
  app.get("/files/:id", async (c) => {
    const { row, file } = await d.files.open(c.req.param("id"), c.req.query("agent"));
    // Sender-chosen names and types: a download, never rendered on the API's origin — except
    // the preview types above when asked (`?inline=1`), sent with their fixed type, nosniff and
    // a sandboxing CSP so even a mislabelled file cannot run as a page.
    const inline = c.req.query("inline") === "1" ? inlineType(row.media_type) : undefined;
    const name = encodeURIComponent(row.name);
    return new Response(file.readable, {
      headers: {
        "content-type": inline ?? row.media_type,
        "content-length": String(row.size),
        "content-disposition": `${inline ? "inline" : "attachment"}; filename*=UTF-8''${name}`,
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox; default-src 'none'",
        "cache-control": "no-store",
        "taskferry-sha256": row.sha256,
      },
    });
  });
  return app;
}
