/**
 * `taskferry link-handler`: registers this program as the OS handler of `taskferry://` links, so
 * the relay pages' "Open in TaskFerry" buttons reach the local daemon (issue 20 item 6). The OS
 * runs `taskferry link-handler open LINK`: an invite link opens the daemon's `/connect?invite=…`
 * page (preview, choose the agent, send), a setup link is saved as `link-open` saves it.
 *
 * Linux is automated (a `.desktop` file plus `xdg-mime`); Windows (`reg add` under HKCU) and
 * macOS (an app bundle: LaunchServices maps URL schemes to apps only) are printed, not run.
 * No token is ever written into the registration (the Go scripts could put the local token in
 * the registry: seed §8 #21); the handler reads it from the home at run time.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, parseFlags, UsageError } from "./command.ts";
import { daemonClient } from "./daemon_client.ts";
import { ourSetupLink } from "./go/compat.ts";
import { tryBrowser } from "./open.ts";
import { taskferryHome } from "./settings.ts";
import { parseSetupLink, readSavedSetup, saveSetup } from "./setup_link.ts";

/** The desktop entry's file name (also its id for `xdg-mime`). */
export const DESKTOP_FILE = "taskferry-link-handler.desktop";
const MIME = "x-scheme-handler/taskferry";

/** How to run this program again: the compiled binary, or `deno run -A main.ts`. */
function selfCommand(exec: string | undefined): string[] {
  if (exec) return [exec];
  const exe = Deno.execPath();
  if (/^deno(\.exe)?$/i.test(basename(exe)) && Deno.mainModule.startsWith("file:")) {
    return [exe, "run", "-A", fileURLToPath(Deno.mainModule)];
  }
  return [exe];
}

/** One `Exec=` argument, quoted as the Desktop Entry spec says (then escaped as a value). */
function execArg(arg: string): string {
  const quoted = /^[A-Za-z0-9_\/.:+=,@-]+$/.test(arg)
    ? arg
    : `"${arg.replace(/([\\"`$])/g, "\\$1")}"`;
  return quoted.replace(/\\/g, "\\\\").replace(/%/g, "%%");
}

/** The `.desktop` file that makes `command LINK` (…/taskferry link-handler open) handle links. */
export function desktopEntry(command: string[]): string {
  const exec = command.map(execArg).join(" ") + " %u";
  return `[Desktop Entry]
Type=Application
Name=TaskFerry
Comment=Open taskferry:// invite and setup links with the local TaskFerry daemon
Exec=${exec}
Terminal=false
NoDisplay=true
MimeType=${MIME};
`;
}

/** The Windows registration (`reg` commands, HKCU: no administrator needed). */
export function windowsCommands(command: string[], install: boolean): string[] {
  const key = "HKCU\\Software\\Classes\\taskferry";
  if (!install) return [`reg delete ${key} /f`];
  const run = [...command, "%1"].map((a) => `\\"${a}\\"`).join(" ");
  return [
    `reg add ${key} /ve /d "URL:TaskFerry" /f`,
    `reg add ${key} /v "URL Protocol" /d "" /f`,
    `reg add ${key}\\shell\\open\\command /ve /d "${run}" /f`,
  ];
}

/** The macOS steps: an AppleScript app that declares the scheme, registered with LaunchServices. */
export function macosSteps(command: string[], install: boolean): string[] {
  const app = "$HOME/Applications/TaskFerry Links.app";
  if (!install) return [`rm -rf "${app}"`];
  // Inside an AppleScript string inside a shell single-quoted argument: \" quotes a word.
  const shell = command.map((a) => /^[A-Za-z0-9_\/.:=,@-]+$/.test(a) ? a : `\\"${a}\\"`).join(" ");
  return [
    `osacompile -o "${app}" -e 'on open location u' -e 'do shell script "${shell} " & quoted form of u' -e 'end open location'`,
    `plutil -insert CFBundleURLTypes -json '[{"CFBundleURLName":"TaskFerry","CFBundleURLSchemes":["taskferry"]}]' "${app}/Contents/Info.plist"`,
    `/System/Library/Frameworks/CoreServices.framework/Frameworks/LaunchServices.framework/Support/lsregister -f "${app}"`,
  ];
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { ok: out.success, out: text.trim() };
  } catch (err) {
    return { ok: false, out: (err as Error).message };
  }
}

function xdgDir(env: Record<string, string>, name: string, fallback: string): string {
  return env[name] || join(env.HOME ?? ".", fallback);
}

async function installLinux(command: string[]): Promise<number> {
  const env = Deno.env.toObject();
  const apps = join(xdgDir(env, "XDG_DATA_HOME", ".local/share"), "applications");
  Deno.mkdirSync(apps, { recursive: true });
  const path = join(apps, DESKTOP_FILE);
  Deno.writeTextFileSync(path, desktopEntry(command));
  const set = await run("xdg-mime", ["default", DESKTOP_FILE, MIME]);
  if (!set.ok) {
    console.error(
      `taskferry: wrote ${path}, but xdg-mime failed (${set.out || "not found"}); install ` +
        `xdg-utils and run: xdg-mime default ${DESKTOP_FILE} ${MIME}`,
    );
    return 1;
  }
  // Some desktops read a cache of MimeType= entries; missing or failing is fine.
  await run("update-desktop-database", [apps]);
  console.log(`taskferry:// links now open with: ${command.join(" ")} LINK`);
  console.log(`(${path}; undo with: taskferry link-handler uninstall)`);
  return 0;
}

async function uninstallLinux(): Promise<number> {
  const env = Deno.env.toObject();
  const apps = join(xdgDir(env, "XDG_DATA_HOME", ".local/share"), "applications");
  await Deno.remove(join(apps, DESKTOP_FILE)).catch(() => {});
  // xdg-mime cannot unset a default: drop our line from the user's mimeapps.list.
  const list = join(xdgDir(env, "XDG_CONFIG_HOME", ".config"), "mimeapps.list");
  try {
    const text = Deno.readTextFileSync(list);
    const kept = text.split("\n").filter((l) => l.trim() !== `${MIME}=${DESKTOP_FILE}`);
    if (kept.length !== text.split("\n").length) Deno.writeTextFileSync(list, kept.join("\n"));
  } catch {
    // no mimeapps.list: nothing registered there
  }
  await run("update-desktop-database", [apps]);
  console.log("taskferry:// links are no longer handled by TaskFerry");
  return 0;
}

/** `open LINK`: what the OS runs for a clicked link. */
async function openLink(link: string, values: { url?: string; home?: string }): Promise<number> {
  const home = values.home ?? taskferryHome();
  if (/^taskferry:\/\/[^/?#]+\/setup[#?]/.test(link)) {
    const creds = parseSetupLink(ourSetupLink(link));
    const saved = readSavedSetup(home);
    // A click must not silently move a configured daemon to another relay or client (a crafted
    // link on a web page; seed §8 #19): that takes the owner pasting it on the /setup page.
    if (
      saved.relay_url !== undefined &&
      (saved.relay_url !== creds.relay_url || saved.client_id !== creds.client_id)
    ) {
      const page = `${daemonClient(values).url}/setup`;
      console.error(
        `taskferry: this link would replace the saved relay credentials (${saved.client_id} at ` +
          `${saved.relay_url}) with ${creds.client_id} at ${creds.relay_url}; if you mean it, ` +
          `paste it on ${page} or run: taskferry client --setup -`,
      );
      await tryBrowser(page);
      return 1;
    }
    Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
    saveSetup(home, creds);
    console.log(
      `saved relay credentials for '${creds.client_id}' (${creds.relay_url}); restart taskferry client`,
    );
    return 0;
  }
  if (!/^taskferry:\/\/[^/?#]+\/invite\//.test(link)) {
    throw new UsageError("expected a taskferry:// invite or setup link");
  }
  const page = `${daemonClient(values).url}/connect?${new URLSearchParams({ invite: link })}`;
  console.log(page);
  await tryBrowser(page);
  return 0;
}

/** `taskferry link-handler` */
export const linkHandlerCommand: Command = {
  name: "link-handler",
  summary: "Register TaskFerry as the handler of taskferry:// links (install|uninstall)",
  help: `Usage: taskferry link-handler install|uninstall [options]
       taskferry link-handler open LINK [--url URL] [--home DIR]

install     makes the OS run 'taskferry link-handler open LINK' for taskferry:// links, so the
            relay pages' "Open in TaskFerry" buttons work. Linux: writes
            $XDG_DATA_HOME/applications/${DESKTOP_FILE} and runs
            'xdg-mime default ${DESKTOP_FILE} ${MIME}'. Windows and macOS: prints the
            commands (reg add under HKCU; an AppleScript app registered with LaunchServices).
uninstall   undoes it (Linux: removes the file and the mimeapps.list default).
open LINK   what the OS runs: an invite link opens the daemon's /connect?invite=… page in the
            browser (log in to the dashboard if asked); a setup link is saved like
            'taskferry link-open' saves it, unless it would replace credentials already saved
            for another relay or client (paste it on the /setup page for that).

Options:
  --exec PATH   the taskferry program to register (default: this one)
  --os OS       linux, darwin or windows (default: this machine's)
  --print       print the registration commands instead of running them
  --url URL     daemon URL baked into the registration [default: found at run time]
  --home DIR    data directory baked into the registration [env TASKFERRY_HOME]

No token is written into the registration; 'open' reads $TASKFERRY_HOME at run time.
See docs/migrating.md.
`,
  async run(args) {
    const { values, positionals } = parseFlags("link-handler", args, {
      exec: { type: "string" },
      os: { type: "string" },
      print: { type: "boolean" },
      url: { type: "string" },
      home: { type: "string" },
    }, true);
    const [verb, ...rest] = positionals;
    if (verb === "open") {
      if (rest.length !== 1) throw new UsageError("link-handler open takes one LINK");
      return await openLink(rest[0]!, values);
    }
    if ((verb !== "install" && verb !== "uninstall") || rest.length) {
      throw new UsageError("link-handler takes install, uninstall or open LINK (see: --help)");
    }
    const os = values.os ?? Deno.build.os;
    if (!["linux", "darwin", "windows"].includes(os)) {
      throw new UsageError(`--os takes linux, darwin or windows, not ${os}`);
    }
    const extra = [
      ...(values.url ? ["--url", values.url] : []),
      ...(values.home ? ["--home", values.home] : []),
    ];
    const command = [...selfCommand(values.exec), "link-handler", "open", ...extra];
    const install = verb === "install";
    if (os === "linux" && !values.print) return install ? installLinux(command) : uninstallLinux();
    if (os === "linux") {
      console.log(`# ${DESKTOP_FILE}:\n${desktopEntry(command)}`);
      console.log(`xdg-mime default ${DESKTOP_FILE} ${MIME}`);
      return 0;
    }
    const steps = os === "windows"
      ? windowsCommands(command, install)
      : macosSteps(command, install);
    console.log(steps.join("\n"));
    if (!values.print) {
      console.error(`taskferry: run the commands above to ${verb} (not automated on ${os} yet)`);
    }
    return 0;
  },
};
