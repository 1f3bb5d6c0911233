/**
 * Files through the CLI as real child processes (`deno run -A main.ts …`): `task create --file`,
 * `task submit --file a.patch --file shot.png`, `task show` listing files and `--save DIR`
 * fetching them byte for byte, and `send --file`.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld } from "../client/world.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function cli(home: string, ...args: string[]) {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? home,
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    TASKFERRY_HOME: home,
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", ...args],
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, `taskferry ${args.join(" ")}\n${new TextDecoder().decode(out.stderr)}`);
  return stdout;
}

Deno.test("cli files: task create/submit --file, task show lists and --save fetches, send --file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-cli-files-" });
  const w = await startWorld({ filesRoot: dir });
  try {
    const { alice, bob } = w;
    const brief = join(dir, "brief.txt");
    await Deno.writeTextFile(brief, "the brief\n");
    const created = JSON.parse(
      await cli(
        alice.home,
        "task",
        "create",
        "--from",
        "@alice/requester",
        "--to",
        "@bob/writer",
        "--title",
        "Fix it",
        "--instructions",
        "see brief",
        "--file",
        brief,
        "--json",
      ),
    );
    const taskId = created.task.id as string;
    await eventually(async () => (await bob.api.task(taskId)).task.files?.[0]?.state === "ready");
    await bob.api.acceptTask(taskId);

    const patch = join(dir, "a.patch");
    const shot = join(dir, "shot.png");
    await Deno.writeTextFile(patch, "--- a\n+++ b\n");
    const png = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    await Deno.writeFile(shot, png);
    await cli(
      bob.home,
      "task",
      "submit",
      taskId,
      "--content",
      "v1",
      "--file",
      patch,
      "--file",
      shot,
    );
    await eventually(async () => {
      const d = await alice.api.task(taskId);
      return d.artifacts[0]?.files?.length === 2 &&
        d.artifacts[0].files.every((f) => f.state === "ready");
    });
    const save = join(dir, "saved");
    const shown = await cli(alice.home, "task", "show", taskId, "--save", save);
    assert(shown.includes("file a.patch"), shown);
    assert(shown.includes("file brief.txt"), shown);
    assertEquals(await Deno.readTextFile(join(save, "brief.txt")), "the brief\n");
    assertEquals(await Deno.readTextFile(join(save, "v1", "a.patch")), "--- a\n+++ b\n");
    assertEquals(await Deno.readFile(join(save, "v1", "shot.png")), png);

    const sent = JSON.parse(
      await cli(
        alice.home,
        "send",
        "--from",
        "@alice/requester",
        "--to",
        "@bob/writer",
        "--file",
        patch,
        "--json",
      ),
    );
    const got = await bob.api.waitForInbox("@bob/writer", (m) => m.id === sent.message.id);
    assertEquals(got.item.files?.[0]?.name, "a.patch");
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
