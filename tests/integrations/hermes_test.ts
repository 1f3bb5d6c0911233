/** The Hermes plugin (integrations/hermes-plugin), driven from Python against live daemons. */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { GO_TOOLS, toolFlow } from "./flow.ts";
import { ToolDriver } from "./tool_driver.ts";

const DRIVER = fileURLToPath(new URL("./hermes_driver.py", import.meta.url));

Deno.test("hermes plugin: registers the 15 Go tools and the skill; every tool works; errors come back as the Go plugin's", async () => {
  const { driver, first } = await ToolDriver.start("python3", [DRIVER]);
  try {
    const reg = first as {
      tools: { name: string; toolset: string; schema: { parameters: Record<string, unknown> } }[];
      skills: { name: string; path: string; exists: boolean }[];
    };
    assertEquals(reg.tools.map((t) => t.name).sort(), [...GO_TOOLS].sort());
    for (const t of reg.tools) {
      assertEquals(t.toolset, "taskferry");
      assertEquals(t.schema.parameters.additionalProperties, false, t.name);
    }
    assertEquals(reg.skills, [{ name: "taskferry", path: reg.skills[0]!.path, exists: true }]);
    const manifest = await Deno.readTextFile(
      new URL("../../integrations/hermes-plugin/plugin.yaml", import.meta.url),
    );
    for (const name of GO_TOOLS) assert(manifest.includes(`  - ${name}\n`), name);

    const { wrongToken } = await toolFlow(async (env, tool, args) => {
      const { raw } = await driver.ask({ env, tool, args }) as { raw: string };
      const value = JSON.parse(raw);
      if (value?.ok === false) throw new Error(value.error);
      return value;
    });
    assert(/^TaskFerry local API 401: \{"error":/.test(wrongToken), wrongToken);
    const down = await driver.ask({
      env: { TASKFERRY_LOCAL_URL: "http://127.0.0.1:9" },
      tool: "taskferry_health",
      args: {},
    }) as { raw: string };
    const parsed = JSON.parse(down.raw);
    assertEquals(parsed.ok, false);
    assert(parsed.error.startsWith("TaskFerry local API unreachable"), parsed.error);
  } finally {
    await driver.close();
  }
});
