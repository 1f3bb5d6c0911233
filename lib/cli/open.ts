import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient, output, runVerb, VERB_FLAGS, VERB_FLAGS_HELP } from "./daemon_client.ts";
import { parseDuration } from "./settings.ts";

/** `taskferry open` */
export const openCommand: Command = {
  name: "open",
  summary: "Open the dashboard: print a one-time login link (and try a browser)",
  help: `Usage: taskferry open [options]

Asks the running daemon for a one-time login link to its dashboard, prints it and, unless
--no-browser, tries to open it with xdg-open (Linux) or open (macOS); a missing or failing
opener is ignored. The link logs one browser in once and expires after --ttl; after that the
browser holds an HttpOnly session cookie. You can also log in with the local API token itself.

Options:
  --ttl DURATION  how long the link stays valid (default 10m, at most 24h)
  --no-browser    only print the link
${VERB_FLAGS_HELP}

Examples:
  taskferry open
  taskferry open --no-browser --ttl 2m
`,
  run(args) {
    const { values } = parseFlags("open", args, {
      ...VERB_FLAGS,
      ttl: { type: "string" },
      "no-browser": { type: "boolean" },
    });
    const ttlMs = parseDuration(values.ttl ?? "10m");
    if (ttlMs === null || ttlMs < 10_000 || ttlMs > 86_400_000) {
      throw new UsageError("--ttl takes a duration from 10s to 24h, like 10m");
    }
    return runVerb(async () => {
      const link = await daemonClient(values).request<{ url: string; expires_at: string }>(
        "POST",
        "/v1/dashboard/login-links",
        { ttl_seconds: Math.round(ttlMs / 1000) },
      );
      output(
        values.json,
        link,
        () => `${link.url}\n(one-time login link, valid until ${link.expires_at})`,
      );
      if (!values["no-browser"]) await tryBrowser(link.url);
    });
  },
};

/** Starts the platform's URL opener; any failure (not installed, no display) is ignored. */
export async function tryBrowser(url: string) {
  const opener = Deno.build.os === "darwin"
    ? "open"
    : Deno.build.os === "windows"
    ? null
    : "xdg-open";
  if (!opener) return;
  try {
    const child = new Deno.Command(opener, {
      args: [url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Wait briefly so a fast failure is reaped, but never hang on a browser that stays open.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, 3000)));
    await Promise.race([child.status.then(() => {}), timeout]);
    clearTimeout(timer);
    child.unref();
  } catch {
    // no opener here: the printed link is enough
  }
}
