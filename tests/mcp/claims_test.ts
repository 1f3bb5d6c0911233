/**
 * MCP and offers (issue 17): a candidate's model sees the offered task in list_tasks, claims it
 * with claim_task over stdio, and the requester's daemon assigns it to that candidate.
 */
import { Client } from "@modelcontextprotocol/sdk/client";
import * as stdioModule from "@modelcontextprotocol/sdk/client/stdio.js";
import type * as StdioTypes from "@modelcontextprotocol/sdk/client/stdio";
import { assertEquals } from "../assert.ts";
import { offer, REVIEWERS, startClaimsWorld, view } from "../client/claims_world.ts";
import { eventually } from "../client/world.ts";
import { daemonEnv, DENO, MAIN } from "./env.ts";

const { StdioClientTransport } = stdioModule as typeof StdioTypes;

Deno.test("mcp: list_tasks shows an offer; claim_task takes it", async () => {
  const w = await startClaimsWorld();
  const [c1] = w.candidates;
  const [R1] = REVIEWERS as [string];
  const transport = new StdioClientTransport({
    command: DENO,
    args: ["run", "-A", MAIN, "mcp", "--agent", R1],
    env: daemonEnv(c1!),
    stderr: "pipe",
  });
  const client = new Client({ name: "taskferry-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    const call = async <T>(name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      assertEquals(result.isError ?? false, false, JSON.stringify(result.content));
      return result.structuredContent as T;
    };
    const t = await offer(w.boss, "cap:review", "Review by whoever");
    const listed = await eventually(async () => {
      const r = await call<{ tasks: { id: string; allowed_actions: Record<string, string[]> }[] }>(
        "list_tasks",
        { state: "offered" },
      );
      return r.tasks.length ? r.tasks : null;
    });
    assertEquals(listed.map((x) => [x.id, x.allowed_actions[R1]]), [[t.id, ["task_claim"]]]);
    await call("claim_task", { task_id: t.id, note: "on it" });
    await eventually(async () => (await view(w.boss, t.id)).worker === R1);
    await eventually(async () => (await view(c1!, t.id)).state === "accepted");
  } finally {
    await client.close().catch(() => {});
    await w.close();
  }
});
