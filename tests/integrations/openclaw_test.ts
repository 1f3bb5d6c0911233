/**
 * The OpenClaw plugin (integrations/openclaw-plugin) loaded through a stand-in for OpenClaw's
 * plugin SDK and typebox, driven against live daemons; its tools match the Hermes plugin's.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { GO_TOOLS, toolFlow } from "./flow.ts";
import { ToolDriver } from "./tool_driver.ts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

Deno.test("openclaw plugin: the 15 Go tools with manifest and schemas matching Hermes; every tool works; errors throw as in Go", async () => {
  const map = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    map,
    JSON.stringify({
      imports: {
        "typebox": new URL("./stubs/typebox.js", import.meta.url).href,
        "openclaw/plugin-sdk/tool-plugin":
          new URL("./stubs/openclaw_tool_plugin.js", import.meta.url)
            .href,
      },
    }),
  );
  const { driver, first } = await ToolDriver.start(Deno.execPath(), [
    "run",
    "--no-config",
    "--import-map",
    map,
    "--allow-env",
    "--allow-net",
    "--allow-read",
    here("./openclaw_driver.js"),
    "../../integrations/openclaw-plugin/dist/index.js",
  ]);
  try {
    const plugin = first as {
      id: string;
      tools: { name: string; label: string; parameters: Record<string, unknown> }[];
    };
    assertEquals(plugin.id, "taskferry");
    assertEquals(plugin.tools.map((t) => t.name).sort(), [...GO_TOOLS].sort());
    const manifest = JSON.parse(
      await Deno.readTextFile(here("../../integrations/openclaw-plugin/openclaw.plugin.json")),
    );
    assertEquals(manifest.contracts.tools, plugin.tools.map((t) => t.name));
    assertEquals(manifest.activation, { onStartup: true });
    const pkg = JSON.parse(
      await Deno.readTextFile(here("../../integrations/openclaw-plugin/package.json")),
    );
    assertEquals(pkg.openclaw.extensions, ["./dist/index.js"]);

    // The same schemas as the Hermes plugin's (one tool set, two languages).
    const out = await new Deno.Command("python3", {
      args: [
        "-B", // no bytecode in the plugin directory
        "-c",
        "import json,sys; sys.path.insert(0, sys.argv[1]); import schemas; print(json.dumps(schemas.TOOLS))",
        here("../../integrations/hermes-plugin"),
      ],
    }).output();
    const hermes = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      name: string;
      parameters: { required: string[] };
    }[];
    for (const t of plugin.tools) {
      const h = hermes.find((x) => x.name === t.name)!;
      const ours = { required: [], ...t.parameters };
      assertEquals(JSON.stringify(sortKeys(ours)), JSON.stringify(sortKeys(h.parameters)), t.name);
      assert(t.label.length > 0);
    }

    const { wrongToken } = await toolFlow(async (env, tool, args) => {
      const r = await driver.ask({ env, tool, args }) as {
        ok: boolean;
        result: unknown;
        error: string;
      };
      if (!r.ok) throw new Error(r.error);
      return r.result;
    });
    assert(/^TaskFerry local API 401: \{"error":/.test(wrongToken), wrongToken);
    const aborted = await driver.ask({
      env: {},
      tool: "taskferry_health",
      args: {},
      abort: true,
    }) as { ok: boolean; name: string };
    assertEquals([aborted.ok, aborted.name], [false, "AbortError"]);
  } finally {
    await driver.close();
    await Deno.remove(map);
  }
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
