/**
 * The Claude Code plugin, the Codex configuration and the skill copies in integrations/: one
 * skill text everywhere, MCP entries that start `taskferry mcp`, and no tool name in the skill
 * that our MCP server or the Go plugins do not have.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";
import { findCommand } from "../../lib/cli/mod.ts";
import { GO_TOOLS } from "./flow.ts";

const read = (p: string) =>
  Deno.readTextFile(fileURLToPath(new URL(`../../integrations/${p}`, import.meta.url)));

Deno.test("integrations: one skill text, MCP entries for Claude Code and Codex, known tool names", async () => {
  const skill = await read("skills/taskferry/SKILL.md");
  for (const copy of ["hermes-plugin", "claude-code", "codex"]) {
    assertEquals(await read(`${copy}/skills/taskferry/SKILL.md`), skill, `${copy} copy drifted`);
  }
  assert(/^---\nname: taskferry\ndescription: /.test(skill), "skill front matter");
  assert(skill.includes("`wait_for_task`"), "the delegate-and-wait workflow names wait_for_task");

  const plugin = JSON.parse(await read("claude-code/.claude-plugin/plugin.json"));
  assertEquals(plugin.name, "taskferry");
  const mcp = JSON.parse(await read("claude-code/.mcp.json"));
  assertEquals([mcp.mcpServers.taskferry.command, mcp.mcpServers.taskferry.args], ["taskferry", [
    "mcp",
  ]]);
  const codex = await read("codex/config.toml");
  assert(codex.includes('[mcp_servers.taskferry]\ncommand = "taskferry"\nargs = ["mcp"]'), codex);
  assert(findCommand("mcp"), "the entries start a command that exists");

  // Every tool the skill names exists: our MCP tools, the Go plugins' tools, or wait_for_task
  // (the worker issue's tool; the skill says what to use until it is there).
  let mcpTools = "";
  for (const entry of Deno.readDirSync(new URL("../../lib/mcp/", import.meta.url))) {
    mcpTools += await Deno.readTextFile(new URL(`../../lib/mcp/${entry.name}`, import.meta.url));
  }
  const named = [...skill.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((m) => m[1]!);
  assert(named.length > 10, "the skill names its tools");
  for (const name of new Set(named)) {
    // (argument names such as task_id occur in the MCP tools' schemas)
    const known = mcpTools.includes(name) || GO_TOOLS.includes(name) || name === "wait_for_task";
    assert(known, `the skill names an unknown tool: ${name}`);
  }
});
