/**
 * The README's loopback recipe runs verbatim: a real `taskferry demo` process, the two `export`
 * lines it prints, then the README's tested shell block in bash with curl — alice's daemon
 * sends, bob's daemon's inbox shows the message.
 */
import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "./cli_run.ts";

const README = new URL("../../README.md", import.meta.url);

async function has(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const missing = [];
for (const tool of ["bash", "curl"]) if (!(await has(tool))) missing.push(tool);

Deno.test({
  name:
    "README: the loopback API recipe, pasted after `taskferry demo`, delivers alice's message to bob",
  ignore: missing.length > 0,
  async fn() {
    const block = /<!-- tested: readme-loopback -->\s*```sh\n([\s\S]*?)```/.exec(
      await Deno.readTextFile(README),
    )?.[1];
    assert(block, "README.md lacks the readme-loopback block");
    const demo = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "main.ts", "demo"],
      cwd: ROOT,
      env: { TASKFERRY_LOG_LEVEL: "warn", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let printed = "";
    const reading = demo.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (s) => void (printed += s) }),
    );
    try {
      const deadline = Date.now() + 30_000;
      while (!printed.includes("Press Ctrl-C to stop.")) {
        if (Date.now() > deadline) throw new Error(`the demo did not come up:\n${printed}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      // What a person pastes: the demo's export lines, then the README's block.
      const exports = printed.split("\n").filter((l) => l.startsWith("  export ")).join("\n");
      assertEquals(exports.split("\n").length, 2, printed);
      const out = await new Deno.Command("bash", {
        args: ["-c", `${exports}\n${block}`],
        clearEnv: true,
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const [health, sent, inbox] = stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      assertEquals(health.status, "ok", stdout);
      assertEquals(health.client_id, "alice");
      assert(typeof sent.message?.id === "string", stdout);
      assertEquals(inbox.agent, "@bob/writer");
      assertEquals(
        inbox.items.map((m: { id: string; payload: { text: string } }) => [m.id, m.payload.text]),
        [[sent.message.id, "hi from curl"]],
      );
    } finally {
      demo.kill("SIGINT");
      await demo.status;
      await reading;
    }
  },
});
