/** Runs a keychain tool with the secret on stdin, never on argv (argv is visible in `ps`). */
import { KeySourceError } from "./key_source.ts";

/** What a tool printed and how it exited. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd args…`, writing `stdin` (if any) and closing it. A tool that is not installed
 * becomes a {@link KeySourceError} naming `install` (how to get it).
 */
export async function runTool(
  cmd: string,
  args: string[],
  install: string,
  stdin?: string,
  env?: Record<string, string>,
): Promise<ToolResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      ...(env ? { env } : {}),
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new KeySourceError(`${cmd} is not installed (${install})`);
    }
    throw err;
  }
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
