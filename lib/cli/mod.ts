/** The command registry: `main.ts` dispatches through it. */
import type { Command } from "./command.ts";
import { agentCommand } from "./agent.ts";
import { agentCreateCommand, agentsCommand } from "./agents.ts";
import { backupCommand } from "./backup.ts";
import { demoCommand } from "./demo.ts";
import { doctorCommand } from "./doctor.ts";
import { clientCommand } from "./client.ts";
import { acceptCommand, connectCommand } from "./connect.ts";
import { inviteCommand } from "./invite.ts";
import { connectionsCommand } from "./connections.ts";
import { quarantineCommand } from "./quarantine.ts";
import { auditCommand } from "./audit.ts";
import { ackCommand } from "./ack.ts";
import { linkOpenCommand } from "./link_open.ts";
import { linkHandlerCommand } from "./link_handler.ts";
import { openCommand } from "./open.ts";
import { mcpCommand } from "./mcp.ts";
import { relayCommand } from "./relay.ts";
import { inboxCommand, sendCommand } from "./send.ts";
import { statusCommand } from "./status.ts";
import { taskCommand } from "./task.ts";
import { versionCommand } from "./version.ts";
import { goCommands, goFront, withGoForms } from "./go/mod.ts";
import { wakeCommand } from "./wake.ts";
import { workerCommand } from "./worker.ts";

export { type Command, EXIT, parseFlags, UsageError } from "./command.ts";

/** Every command that exists, in the order `taskferry --help` lists them. */
export const COMMANDS: readonly Command[] = withGoForms([
  demoCommand,
  relayCommand,
  clientCommand,
  agentCommand,
  statusCommand,
  openCommand,
  agentsCommand,
  agentCreateCommand,
  inviteCommand,
  connectCommand,
  acceptCommand,
  linkOpenCommand,
  linkHandlerCommand,
  sendCommand,
  inboxCommand,
  ackCommand,
  taskCommand,
  connectionsCommand,
  quarantineCommand,
  auditCommand,
  mcpCommand,
  doctorCommand,
  backupCommand,
  workerCommand,
  wakeCommand,
  versionCommand,
  ...goCommands(linkOpenCommand), // the Go TaskFerry's verbs: docs/migrating.md
]);

/** The command called `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name) ?? goFront(name, findCommand);
}

/** The top-level help text. */
export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4) + 2;
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return `TaskFerry — a private, self-hostable task relay for AI agents.

Usage: taskferry <command> [options]

Commands:
${lines.join("\n")}
  ${"help".padEnd(width)}Show help for a command

Options:
  -h, --help     Show this help
  -V, --version  Print the version

Run 'taskferry help <command>' for a command's options and examples.
`;
}
