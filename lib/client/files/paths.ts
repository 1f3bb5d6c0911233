/**
 * Which local paths the owner's API and CLI may attach (docs/api.md, "Files"): an absolute path
 * without `..`, whose real location (symlinks resolved) is inside the daemon's files root, naming
 * a regular file. The root defaults to the user's home, so a caller of the loopback API cannot
 * make the daemon send /etc or another user's files; `--files-root /` lifts it.
 */
import { basename, isAbsolute } from "node:path";
import { checkFileName, fail } from "../../protocol/mod.ts";

/** A path that passed the rule: its real location and the name it is sent under. */
export interface AttachablePath {
  real: string;
  name: string;
  size: number;
}

/** Checks `path` against the rule; throws a catalogue error naming what to change. */
export async function checkAttachPath(
  root: string | null,
  path: string,
): Promise<AttachablePath> {
  if (root === null) {
    throw fail(
      "file_path_refused",
      "this daemon has no files root (no home directory): start it with --files-root DIR, " +
        "or post the file to POST /v1/files",
    );
  }
  if (!isAbsolute(path)) {
    throw fail("file_path_refused", `${JSON.stringify(path)} is not an absolute path`);
  }
  if (path.split(/[/\\]/).includes("..")) {
    throw fail("file_path_refused", `${JSON.stringify(path)}: a path cannot contain ..`);
  }
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw fail("file_not_found", `no file at ${path}`);
    throw fail("file_path_refused", `${path}: ${(err as Error).message}`);
  }
  const realRoot = await Deno.realPath(root).catch(() => root);
  const inside = realRoot === "/" || real === realRoot || real.startsWith(realRoot + "/");
  if (!inside) {
    throw fail(
      "file_path_refused",
      `${path} is outside the files root ${realRoot}; move it there or start the daemon with ` +
        "--files-root",
    );
  }
  const info = await Deno.stat(real);
  if (!info.isFile) {
    const what = info.isDirectory ? "a directory" : "not a regular file (a device, pipe or socket)";
    throw fail("file_not_regular", `${path} is ${what}; attach regular files one by one`);
  }
  return { real, name: checkFileName(basename(path)), size: info.size };
}
