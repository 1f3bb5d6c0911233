/**
 * `taskferry link-handler` on Linux, as a user runs it: HOME and the XDG directories in a temp
 * dir, fake `xdg-mime` / `xdg-open` on PATH that record their arguments. Checks the `.desktop`
 * file, the `xdg-mime` call, that its Exec line really opens an invite on the daemon's /connect
 * page, how setup links are saved (and not silently replaced), and the uninstall.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { taskferry } from "./go_run.ts";

const FAKE = `#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_LOG"
`;

/** A temp HOME with XDG dirs and a bin dir holding fake `xdg-mime` and `xdg-open`. */
async function sandbox(fakes = ["xdg-mime", "xdg-open"]) {
  const root = await Deno.makeTempDir({ prefix: "tf-linkhandler-" });
  const bin = join(root, "bin");
  await Deno.mkdir(bin);
  for (const name of fakes) {
    await Deno.writeTextFile(join(bin, name), FAKE, { mode: 0o755 });
  }
  const env = {
    HOME: root,
    XDG_DATA_HOME: join(root, "data"),
    XDG_CONFIG_HOME: join(root, "config"),
    // Only the fakes when there are none (no system xdg-mime either); else the system tools too.
    PATH: fakes.length ? `${bin}:/usr/bin:/bin` : bin,
    FAKE_LOG: join(root, "fake.log"),
    TASKFERRY_HOME: join(root, "tf"),
  };
  const log = async () => {
    try {
      return (await Deno.readTextFile(env.FAKE_LOG)).trim().split("\n");
    } catch {
      return [];
    }
  };
  return { root, env, log, desktop: join(env.XDG_DATA_HOME, "applications", DESKTOP) };
}
const DESKTOP = "taskferry-link-handler.desktop";

Deno.test("link-handler: install writes the .desktop file, runs xdg-mime; its Exec opens /connect", async () => {
  const s = await sandbox();
  try {
    const home = join(s.root, "tf");
    const r = await taskferry(
      s.env,
      "link-handler",
      "install",
      "--url",
      "http://127.0.0.1:4399",
      "--home",
      home,
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await s.log(), [`xdg-mime default ${DESKTOP} x-scheme-handler/taskferry`]);
    const text = await Deno.readTextFile(s.desktop);
    const lines = text.trim().split("\n");
    assertEquals(lines[0], "[Desktop Entry]");
    for (
      const want of ["Type=Application", "MimeType=x-scheme-handler/taskferry;", "NoDisplay=true"]
    ) {
      assert(lines.includes(want), `${want} in\n${text}`);
    }
    const exec = lines.find((l) => l.startsWith("Exec="))!.slice(5).split(" ");
    assertEquals(exec.slice(-6), [
      "open",
      "--url",
      "http://127.0.0.1:4399",
      "--home",
      home,
      "%u",
    ]);
    assert(exec.includes("link-handler") && exec.some((a) => a.endsWith("main.ts")), text);
    assert(!/tfl_|token/i.test(text), "no token in the registration");

    // What the desktop does for a click: the Exec line with %u replaced by the link.
    const link = "taskferry://relay.example.com/invite/abc123#fp=1111-2222";
    const [cmd, ...args] = exec.map((a) => a === "%u" ? link : a);
    const out = await new Deno.Command(cmd!, {
      args,
      env: { ...s.env, NO_COLOR: "1", DENO_DIR: `${Deno.env.get("HOME")}/.cache/deno` },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const page = `http://127.0.0.1:4399/connect?${new URLSearchParams({ invite: link })}`;
    assertEquals((await s.log()).at(-1), `xdg-open ${page}`);
  } finally {
    await Deno.remove(s.root, { recursive: true });
  }
});

Deno.test("link-handler: open saves a first setup link, refuses to replace another relay's", async () => {
  const s = await sandbox();
  try {
    const link = (relay: string) =>
      `taskferry://x/setup#${new URLSearchParams({
        relay,
        client_id: "alice",
        token: "t".repeat(43),
      })}`;
    const first = await taskferry(s.env, "link-handler", "open", link("https://relay.one"));
    assertEquals(first.code, 0, first.stderr);
    const saved = join(s.env.TASKFERRY_HOME, "relay-credentials.json");
    const before = await Deno.readTextFile(saved);
    assertEquals(JSON.parse(before).relay_url, "https://relay.one");
    assertEquals((await Deno.stat(saved)).mode! & 0o777, 0o600);

    const other = await taskferry(s.env, "link-handler", "open", link("https://evil.example"));
    assertEquals(other.code, 1);
    assert(/would replace the saved relay credentials/.test(other.stderr), other.stderr);
    assertEquals(await Deno.readTextFile(saved), before, "unchanged");
    assert((await s.log()).at(-1)!.endsWith("/setup"), "the /setup page is opened instead");

    // The Go link form works too; anything else is a usage error.
    const go = await taskferry(
      s.env,
      "link-handler",
      "open",
      "taskferry://relay.one/setup?client_id=client_alice&relay_token=alice-relay-token",
    );
    assertEquals(go.code, 0, go.stderr);
    const bad = await taskferry(s.env, "link-handler", "open", "https://example.com/");
    assertEquals(bad.code, 2);
  } finally {
    await Deno.remove(s.root, { recursive: true });
  }
});

Deno.test("link-handler: without xdg-mime, install says what to run; uninstall undoes it", async () => {
  const s = await sandbox([]);
  try {
    const r = await taskferry(s.env, "link-handler", "install");
    assertEquals(r.code, 1);
    assert(/xdg-mime default taskferry-link-handler\.desktop/.test(r.stderr), r.stderr);
    await Deno.stat(s.desktop); // written anyway

    const list = join(s.env.XDG_CONFIG_HOME, "mimeapps.list");
    await Deno.mkdir(s.env.XDG_CONFIG_HOME, { recursive: true });
    await Deno.writeTextFile(
      list,
      `[Default Applications]\ntext/html=firefox.desktop\nx-scheme-handler/taskferry=${DESKTOP}\n`,
    );
    const u = await taskferry(s.env, "link-handler", "uninstall");
    assertEquals(u.code, 0, u.stderr);
    assertEquals(await Deno.stat(s.desktop).catch(() => null), null);
    assertEquals(
      await Deno.readTextFile(list),
      "[Default Applications]\ntext/html=firefox.desktop\n",
    );

    const win = await taskferry(s.env, "link-handler", "install", "--os", "windows", "--print");
    assertEquals(win.code, 0);
    assert(win.stdout.includes("reg add HKCU\\Software\\Classes\\taskferry"), win.stdout);
  } finally {
    await Deno.remove(s.root, { recursive: true });
  }
});
