/**
 * Files in MCP (docs/integrations.md): the tools that send take `files`, absolute paths on the
 * owner's machine (the daemon checks them against its files root); task and message results list
 * each file with its id and state; `save_file` writes a received, verified file into a directory
 * and returns its path, so a host's agent can open it.
 */
import { join } from "node:path";
import { z } from "zod";
import { ApiError, type FileAttachment } from "../sdk/mod.ts";
import { agentArg } from "./args.ts";
import { type Tool, tool } from "./tool.ts";

/** The `files` argument of the sending tools. */
export const filesArg = z.array(z.string().min(1).max(4096)).min(1).max(32).optional().describe(
  "Files to attach: absolute paths of regular files on this machine (inside the daemon's " +
    "files root, by default your home). They travel end-to-end encrypted.",
);

/** `{files}` for the SDK from the `files` argument (nothing when absent). */
export function attach(paths: string[] | undefined): { files?: FileAttachment[] } {
  return paths?.length ? { files: paths.map((path) => ({ path })) } : {};
}

/** The file tools. */
export const FILE_TOOLS: readonly Tool[] = [
  tool({
    name: "save_file",
    title: "Save a received file",
    description:
      "Write a file you received (or sent) into a directory on this machine and get its path. " +
      "File ids (blob_…) and states are listed under `files` by get_task (the request and each " +
      "artifact) and by inbox items; only files in state ready can be saved.",
    input: z.strictObject({
      file_id: z.string().min(1).max(64).describe("The file's id (blob_…)."),
      dir: z.string().min(1).max(4096).describe("An absolute directory to write it into."),
      agent: agentArg,
    }),
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    run: async (ctx, args) => {
      const res = await ctx.api.downloadFile(args.file_id, args.agent ?? ctx.defaultAgent);
      const disposition = res.headers.get("content-disposition") ?? "";
      const name = decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(disposition)?.[1] ?? "");
      if (!name) throw new ApiError(500, "internal", "the daemon sent no file name");
      await Deno.mkdir(args.dir, { recursive: true });
      const path = join(args.dir, name);
      let out: Deno.FsFile;
      try {
        out = await Deno.open(path, { write: true, createNew: true });
      } catch (err) {
        await res.body?.cancel();
        if (err instanceof Deno.errors.AlreadyExists) {
          throw new ApiError(409, "conflict", `${path} exists; choose another dir`);
        }
        throw err;
      }
      await res.body!.pipeTo(out.writable);
      return { path, name, sha256: res.headers.get("taskferry-sha256") };
    },
  }),
];
