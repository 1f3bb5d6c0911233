/** `taskferry agent rotate-key AGENT`: new keys for a local agent, signed by the old ones. */
import { parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS } from "./daemon_client.ts";

/** Help lines for `agent rotate-key`, shown in `taskferry help agent`. */
export const ROTATE_KEY_HELP =
  `rotate-key AGENT: gives AGENT fresh keys, registered at the relay with a rotation
signed by the old key (nothing changes if the relay refuses). Each peer's next envelope from AGENT
lands in that peer's quarantine as key_changed until its owner accepts the new fingerprint:
tell them the new fingerprint printed here. Options: --json --url --token --home.`;

/** Runs `agent rotate-key` with the arguments after it. */
export function rotateKey(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags("agent", args, VERB_FLAGS, true);
  if (positionals.length !== 1) {
    throw new UsageError("agent rotate-key takes one AGENT (see: taskferry help agent)");
  }
  return runVerb(async () => {
    const agent = await daemonClient(values).rotateKey(positionals[0]!);
    output(
      values.json,
      { agent },
      () =>
        `rotated ${agent.handle}\nnew fingerprint ${agent.fingerprint}\n` +
        "peers must accept the key change (taskferry quarantine accept …) after checking it with you",
    );
  });
}
