/**
 * Files on the CLI (docs/api.md, "Files"): `--file PATH` (repeatable) on `send`, `task create`
 * and `task submit` attaches local files by absolute path (the daemon checks them against its
 * files root); `task show` lists a task's files and `--save DIR` fetches the verified ones.
 */
import { join, resolve } from "node:path";
import type { FileAttachment, FileView, TaskDetail, TaskferryClient } from "../sdk/mod.ts";
import { UsageError } from "./command.ts";

/** The flag that attaches files (merge into a verb's flags). */
export const FILE_FLAGS = { file: { type: "string", multiple: true } } as const;

/** `--file` values as attachments: paths made absolute against the working directory. */
export function attachments(paths: string[] | undefined): { files?: FileAttachment[] } {
  if (!paths?.length) return {};
  return { files: paths.map((p) => ({ path: resolve(Deno.cwd(), p) })) };
}

/** One line per file: name, size, state (and why it failed). */
export function fileLines(files: FileView[] | undefined, indent = "  "): string[] {
  return (files ?? []).map((f) =>
    `${indent}file ${f.name} (${f.size} bytes, ${f.media_type}) ${f.state}` +
    (f.state === "pending" ? ` ${f.done_chunks}/${f.chunks}` : "") +
    (f.error ? ` — ${f.error}` : "") + `  ${f.id}`
  );
}

/**
 * Saves the task's verified files under `dir`: the request's in `dir/`, each artifact
 * version's in `dir/v<N>/`. Never overwrites; files not ready yet are reported, not waited for.
 */
export async function saveTaskFiles(
  api: TaskferryClient,
  d: TaskDetail,
  dir: string,
  agent?: string,
): Promise<string[]> {
  const lines: string[] = [];
  const groups: [string, FileView[] | undefined][] = [
    [dir, d.task.files],
    ...d.artifacts.map((a) => [join(dir, `v${a.version}`), a.files] as [string, FileView[]]),
  ];
  for (const [where, files] of groups) {
    for (const f of files ?? []) {
      if (f.state !== "ready") {
        lines.push(`skipped ${f.name}: ${f.state}${f.error ? ` (${f.error})` : ""}`);
        continue;
      }
      await Deno.mkdir(where, { recursive: true });
      const path = join(where, f.name);
      let out: Deno.FsFile;
      try {
        out = await Deno.open(path, { write: true, createNew: true });
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists) {
          throw new UsageError(`${path} exists; pick another --save directory`);
        }
        throw err;
      }
      const res = await api.downloadFile(f.id, agent);
      await res.body!.pipeTo(out.writable);
      lines.push(`saved ${path} (${f.size} bytes)`);
    }
  }
  return lines;
}
