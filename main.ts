/**
 * TaskFerry's single entrypoint: dispatches to the commands under lib/cli/.
 * @module
 */
import { COMMANDS, EXIT, findCommand, topHelp, UsageError } from "./lib/cli/mod.ts";
import { TaskferryError } from "./lib/protocol/errors.ts";

/** Runs the CLI with `args` and returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  // `deno task demo -- --once` passes the `--` through (npm habit): drop it after the command.
  if (args[1] === "--") args = [args[0]!, ...args.slice(2)];
  const [first, ...rest] = args;
  try {
    if (first === undefined || first === "-h" || first === "--help") {
      console.log(topHelp());
      return first === undefined ? EXIT.usage : EXIT.ok;
    }
    if (first === "-V" || first === "--version") return await findCommand("version")!.run([]);
    if (first === "help") {
      if (rest.length === 0) {
        console.log(topHelp());
        return EXIT.ok;
      }
      const command = findCommand(rest[0]!);
      if (!command) throw new UsageError(unknownCommand(rest[0]!));
      console.log(command.help);
      return EXIT.ok;
    }
    const command = findCommand(first);
    if (!command) {
      if (first.startsWith("-")) {
        throw new UsageError(`unknown option '${first}' (see: taskferry --help)`);
      }
      throw new UsageError(unknownCommand(first));
    }
    if (rest.includes("-h") || rest.includes("--help")) {
      console.log(command.help);
      return EXIT.ok;
    }
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`taskferry: ${err.message}`);
      return EXIT.usage;
    }
    // A refusal with a catalogue code (e.g. database_too_new) is a message, not a crash.
    if (err instanceof TaskferryError) {
      console.error(`taskferry: ${err.code}: ${err.message}`);
      return EXIT.failure;
    }
    throw err;
  }
}

function unknownCommand(name: string): string {
  const near = COMMANDS.map((c) => c.name).find((n) => n.startsWith(name.slice(0, 2)));
  const hint = near ? `: did you mean '${near}'?` : "";
  return `unknown command '${name}'${hint} (see: taskferry --help)`;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
