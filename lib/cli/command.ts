import { parseArgs, type ParseArgsConfig } from "node:util";

/** A CLI command: one per file under lib/cli/, each with its own help text. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help: usage, options with env names and defaults, examples. */
  help: string;
  run(args: string[]): Promise<number>;
}

/** Misuse of the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit codes: 0 ok, 1 failure, 2 misuse. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Strict flag parsing (unknown flags are errors) that turns node's errors into a
 * {@link UsageError} naming the command's help.
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0]! : String(err);
    throw new UsageError(
      `${message.replace(/\. To specify.*$/, "")} (see: taskferry help ${command})`,
    );
  }
}
