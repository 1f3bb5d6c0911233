/**
 * Setup links (`taskferry://host/setup#relay=…&client_id=…&token=…`) carry a relay token, so
 * they should not travel on the command line, where `ps` and shell history keep them (issue 19
 * item 5). `--setup -` reads the link from stdin and `--setup @FILE` from a file; a literal link
 * still works but is warned about. The credentials are then saved 0600 in the home.
 */
import { join } from "node:path";
import { isOwner } from "../protocol/mod.ts";
import { logger } from "../log.ts";
import { UsageError } from "./command.ts";

const log = logger("client");

/** The relay credentials a setup link carries. */
export interface SetupLink {
  relay_url: string;
  client_id: string;
  relay_token: string;
}

/** Where `--setup` credentials are saved, inside the home. */
export const CREDENTIALS_FILE = "relay-credentials.json";

/** Parses `taskferry://host/setup#relay=…&client_id=…&token=…`. */
export function parseSetupLink(link: string): SetupLink {
  const m = /^taskferry:\/\/[^/]+\/setup#(.+)$/.exec(link.trim());
  const params = new URLSearchParams(m?.[1] ?? "");
  const relay = params.get("relay");
  const clientId = params.get("client_id");
  const token = params.get("token");
  if (!m || !relay || !clientId || !token || !isOwner(clientId) || !/^https?:\/\//.test(relay)) {
    throw new UsageError(
      "invalid setup link: expected taskferry://<host>/setup#relay=…&client_id=…&token=…",
    );
  }
  return { relay_url: relay.replace(/\/+$/, ""), client_id: clientId, relay_token: token };
}

/**
 * The link text `--setup VALUE` stands for: `-` reads stdin (the first line), `@FILE` reads the
 * file, anything else is the link itself (warned about when it came from the command line).
 */
export async function readSetupArg(
  value: string,
  fromFlag: boolean,
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<string> {
  if (value === "-") {
    if (Deno.stdin.isTerminal()) console.error("Paste the setup link and press Enter:");
    const line = await firstLine(stdin);
    if (!line) throw new UsageError("--setup -: no setup link on stdin");
    return line;
  }
  if (value.startsWith("@")) {
    const path = value.slice(1);
    try {
      return (await Deno.readTextFile(path)).trim().split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new UsageError(`--setup @${path}: cannot read the file: ${(err as Error).message}`);
    }
  }
  if (fromFlag) {
    log.warn(
      "the setup link on the command line is visible to other users (ps) and kept in shell " +
        "history; prefer --setup - (stdin) or --setup @FILE",
    );
  }
  return value;
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const reader = stream.getReader();
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.length > 64 * 1024) break; // a link is short; do not buffer a stray stream
    }
  } finally {
    reader.releaseLock();
  }
  return text.split(/\r?\n/)[0]!.trim();
}

/** Saves `link`'s credentials in `home` (0600), for later starts without `--setup`. */
export function saveSetup(home: string, link: SetupLink): void {
  const path = join(home, CREDENTIALS_FILE);
  Deno.writeTextFileSync(path, JSON.stringify(link) + "\n", { mode: 0o600 });
  Deno.chmodSync(path, 0o600);
}

/** Saved credentials from an earlier `--setup`. */
export function readSavedSetup(home: string): Partial<SetupLink> {
  try {
    return JSON.parse(Deno.readTextFileSync(join(home, CREDENTIALS_FILE)));
  } catch {
    return {};
  }
}
