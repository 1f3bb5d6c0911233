/**
 * Files in worker rounds (design §12): the task's input files are placed in the task's working
 * directory before the run (waiting for their download to finish), and the regular files the
 * run writes to `TASKFERRY_OUTPUT_DIR` are posted to the daemon and submitted as the artifact's
 * files. Both go through the daemon's loopback API (`POST /v1/files`, `GET /v1/files/{id}`), so
 * the worker needs no access to the daemon's files root.
 */
import { join } from "node:path";
import type { FileAttachment, TaskDetail } from "../sdk/mod.ts";

/** What the worker needs from the daemon for files (WorkerApi's optional part). */
export interface WorkerFilesApi {
  task(id: string): Promise<TaskDetail>;
  /** Posts the file at `path` as `name`; its id is then attached. */
  postFile(name: string, path: string): Promise<{ file_id: string }>;
  /** A verified file's bytes. */
  downloadFile(id: string, agent: string): Promise<ReadableStream<Uint8Array>>;
}

/** Most files one artifact carries (the protocol's MAX_FILES). */
const MAX_OUTPUT_FILES = 32;

/** The regular files in `dir` (sorted by name, at most 32); none when it does not exist. */
export function outputFilePaths(dir: string): { name: string; path: string }[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isFile)
      .sort((a, b) => a.name < b.name ? -1 : 1)
      .slice(0, MAX_OUTPUT_FILES)
      .map((e) => ({ name: e.name, path: join(dir, e.name) }));
  } catch {
    return [];
  }
}

/** Posts the output directory's files; returns them as attachments. */
export async function postOutputFiles(
  api: WorkerFilesApi,
  dir: string,
): Promise<FileAttachment[]> {
  const files: FileAttachment[] = [];
  for (const f of outputFilePaths(dir)) {
    files.push({ file_id: (await api.postFile(f.name, f.path)).file_id });
  }
  return files;
}

/**
 * Places the task's input files in `workDir` once their downloads settle (polling the task up
 * to `timeoutMs`); a file already there is kept. Returns what it could not place, and why.
 */
export async function placeInputFiles(
  api: WorkerFilesApi,
  taskId: string,
  agent: string,
  workDir: string,
  timeoutMs = 600_000,
): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  let files = (await api.task(taskId)).task.files ?? [];
  while (files.some((f) => f.state === "pending") && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    files = (await api.task(taskId)).task.files ?? [];
  }
  const missed: string[] = [];
  for (const f of files) {
    if (f.state !== "ready") {
      missed.push(`${f.name}: ${f.state}${f.error ? ` (${f.error})` : ""}`);
      continue;
    }
    let out: Deno.FsFile;
    try {
      out = await Deno.open(join(workDir, f.name), { write: true, createNew: true, mode: 0o600 });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) continue; // placed by an earlier attempt
      throw err;
    }
    await (await api.downloadFile(f.id, agent)).pipeTo(out.writable);
  }
  return missed;
}
