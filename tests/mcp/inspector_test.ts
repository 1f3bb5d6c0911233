/**
 * `taskferry mcp` under the MCP Inspector's CLI (a second, independent MCP client), fetched with
 * npx. Skipped with a message when npx is missing, when the package cannot be fetched (offline),
 * or with TASKFERRY_SKIP_INSPECTOR=1.
 */
import { assert, assertEquals } from "../assert.ts";
import { startWorld, type World } from "../client/world.ts";
import { daemonEnv, DENO, MAIN, TOOL_NAMES } from "./env.ts";

const INSPECTOR = "@modelcontextprotocol/inspector@2.12.0";
/** What npx itself needs from the environment (certificates, proxies), passed explicitly. */
const NPX_ENV = [
  "PATH",
  "HOME",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];
const OFFLINE =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|E404|E403|network|fetch failed/i;

async function hasNpx(): Promise<boolean> {
  try {
    return (await new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

const skip = Deno.env.get("TASKFERRY_SKIP_INSPECTOR") === "1"
  ? "TASKFERRY_SKIP_INSPECTOR=1"
  : (await hasNpx())
  ? null
  : "npx not installed";
if (skip) console.log(`tests/mcp/inspector_test.ts: skipped (${skip})`);

/** Runs the inspector CLI against `taskferry mcp` for alice's daemon. */
async function inspector(w: World, args: string[]) {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of NPX_ENV) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const serverEnv = Object.entries(daemonEnv(w.alice)).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const out = await new Deno.Command("npx", {
    args: ["--yes", INSPECTOR, "--cli", ...serverEnv, DENO, "run", "-A", MAIN, "mcp", ...args],
    clearEnv: true,
    env,
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "mcp: the MCP Inspector CLI lists the tools (strict schema check) and calls them",
  ignore: skip !== null,
  async fn() {
    const w = await startWorld();
    try {
      const listed = await inspector(w, ["--method", "tools/list", "--strict"]);
      if (listed.code !== 0 && OFFLINE.test(listed.stderr) && !listed.stdout.trim()) {
        console.log(`inspector test skipped: ${INSPECTOR} could not be fetched\n${listed.stderr}`);
        return;
      }
      assertEquals(listed.code, 0, listed.stderr);
      const { tools } = JSON.parse(listed.stdout) as { tools: { name: string }[] };
      assertEquals(tools.map((t) => t.name), TOOL_NAMES);
      // --strict prints portability problems of the tool schemas on stderr: there are none.
      assert(!/Warning: tool|[1-9]\d* (errors|warnings)/.test(listed.stderr), listed.stderr);

      const text = `hello from the inspector ${crypto.randomUUID()}`;
      const sent = await inspector(w, [
        "--method",
        "tools/call",
        "--tool-name",
        "send_message",
        "--tool-arg",
        "to=@bob/writer",
        `text=${text}`,
      ]);
      assertEquals(sent.code, 0, sent.stderr);
      const { item } = await w.bob.api.waitForInbox("@bob/writer", (m) => m.payload.text === text);
      assertEquals(JSON.parse(sent.stdout).structuredContent.message.id, item.id);

      const refused = await inspector(w, [
        "--method",
        "tools/call",
        "--tool-name",
        "accept_task",
        "--tool-arg",
        "task_id=task_01JDQ7ZZZZZZZZZZZZZZZZZZZZ",
      ]);
      assertEquals(refused.code !== 0, true, "the inspector exits non-zero on isError");
      const result = JSON.parse(refused.stdout.slice(0, refused.stdout.lastIndexOf("}") + 1));
      assertEquals(result.isError, true);
      assert(result.content[0].text.startsWith("task_not_found: "), result.content[0].text);
    } finally {
      await w.close();
    }
  },
});
