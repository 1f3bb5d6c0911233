/**
 * Files through `taskferry mcp` (a child process on stdio, as hosts run it): create_task and
 * submit_artifact take `files` (paths), get_task lists them with their state, and save_file
 * writes a received file into a directory and returns its path.
 */
import { Client } from "@modelcontextprotocol/sdk/client";
import * as stdioModule from "@modelcontextprotocol/sdk/client/stdio.js";
import type * as StdioTypes from "@modelcontextprotocol/sdk/client/stdio";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startWorld, type TestDaemon } from "../client/world.ts";
import { daemonEnv, DENO, MAIN } from "./env.ts";

const { StdioClientTransport } = stdioModule as typeof StdioTypes;

async function connect(daemon: TestDaemon, agent: string) {
  const transport = new StdioClientTransport({
    command: DENO,
    args: ["run", "-A", MAIN, "mcp", "--agent", agent],
    env: daemonEnv(daemon),
    stderr: "pipe",
  });
  const client = new Client({ name: "taskferry-files-test", version: "1.0.0" });
  await client.connect(transport);
  const ok = async <T>(name: string, args: Record<string, unknown>) => {
    const r = await client.callTool({ name, arguments: args });
    const text = (r.content as { text: string }[])[0]?.text ?? "";
    assert(!r.isError, `${name} failed: ${text}`);
    return r.structuredContent as T;
  };
  return { client, ok };
}

interface FileLike {
  id: string;
  name: string;
  state: string;
}
interface Detail {
  task: { files?: FileLike[] };
  artifacts: { files?: FileLike[] }[];
}

Deno.test("mcp files: create_task and submit_artifact with paths; get_task lists; save_file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-mcp-files-" });
  const w = await startWorld({ filesRoot: dir });
  const alice = await connect(w.alice, "@alice/requester");
  const bob = await connect(w.bob, "@bob/writer");
  try {
    await Deno.writeTextFile(join(dir, "spec.txt"), "spec\n");
    const created = await alice.ok<{ task: { id: string } }>("create_task", {
      to: "@bob/writer",
      title: "Patch",
      instructions: "see spec.txt",
      files: [join(dir, "spec.txt")],
    });
    const id = created.task.id;
    const seen = await eventually(async () => {
      const d = await bob.ok<Detail>("get_task", { task_id: id });
      return d.task.files?.[0]?.state === "ready" ? d : null;
    });
    const spec = await bob.ok<{ path: string }>("save_file", {
      file_id: seen.task.files![0]!.id,
      dir: join(dir, "bob-in"),
    });
    assertEquals(await Deno.readTextFile(spec.path), "spec\n");

    await bob.ok("accept_task", { task_id: id });
    await Deno.writeTextFile(join(dir, "fix.patch"), "+fixed\n");
    await bob.ok("submit_artifact", {
      task_id: id,
      content: "done",
      files: [join(dir, "fix.patch")],
    });
    const got = await eventually(async () => {
      const d = await alice.ok<Detail>("get_task", { task_id: id });
      return d.artifacts[0]?.files?.[0]?.state === "ready" ? d : null;
    });
    const file = got.artifacts[0]!.files![0]!;
    assertEquals(file.name, "fix.patch");
    const saved = await alice.ok<{ path: string }>("save_file", {
      file_id: file.id,
      dir: join(dir, "alice-out"),
    });
    assertEquals(saved.path, join(dir, "alice-out", "fix.patch"));
    assertEquals(await Deno.readTextFile(saved.path), "+fixed\n");
  } finally {
    await alice.client.close();
    await bob.client.close();
    await w.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
