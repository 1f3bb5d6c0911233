/**
 * Agent tokens (design §14, issue 13 item 6), tried as the gated agent would: with only its own
 * agent token it must not learn a task held at the owner's gate — not from task lists, detail,
 * artifacts, messages, the inbox, the event stream or MCP `get_task` — nor approve it, reach
 * another local agent, issue tokens or edit permissions. The owner keeps full power; a revoked
 * token is refused at once; the demo agents complete the flow holding agent tokens.
 */
import { Client } from "@modelcontextprotocol/sdk/client";
import * as stdioModule from "@modelcontextprotocol/sdk/client/stdio.js";
import type * as StdioTypes from "@modelcontextprotocol/sdk/client/stdio";
import { agentClient, runRequester, runWriter } from "../../lib/agents/mod.ts";
import { CLIENT_MIGRATIONS, Daemon, daemonApp } from "../../lib/client/mod.ts";
import { AGENT_ROUTES, agentMayCall } from "../../lib/client/guards/access.ts";
import { issueAgentToken } from "../../lib/client/guards/agent_tokens.ts";
import { ApiError, TaskferryClient } from "../../lib/sdk/mod.ts";
import { openDatabase } from "../../lib/store/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { childEnv, DENO, MAIN } from "../mcp/env.ts";
import { ALICE, BOB } from "./helpers.ts";
import { eventually, startWorld } from "./world.ts";

const { StdioClientTransport } = stdioModule as typeof StdioTypes;
const OTHER = "@bob/other";
const SECRET = "SECRET-INSTRUCTIONS-7f3a";

/** Expects `call` to fail with HTTP `status` and catalogue `code`. */
async function refused(call: () => Promise<unknown>, status: number, code: string, what: string) {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    assertEquals(`${err.status} ${err.code}`, `${status} ${code}`, what);
    return;
  }
  throw new Error(`${what}: expected ${status} ${code}, got success`);
}

/** Collects an SSE stream's text in the background. */
function collect(res: Response) {
  const state = { text: "", done: false };
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      state.text += decoder.decode(value, { stream: true });
    }
    state.done = true;
  })();
  return {
    text: () => state.text,
    close: async () => {
      await reader.cancel().catch(() => {});
      await pump;
    },
  };
}

/** Opens `GET /v1/events` with `token`. */
function events(url: string, token: string, query = "") {
  return fetch(`${url}/v1/events${query}`, { headers: { authorization: `Bearer ${token}` } });
}

Deno.test("agent tokens: a task held at the owner's gate stays hidden from its agent; only the owner decides", async (t) => {
  const w = await startWorld({ permissions: { require_human_gate: true } });
  const { alice, bob } = w;
  const streams: { close(): Promise<void> }[] = [];
  try {
    await bob.api.createAgent({ handle: OTHER });
    const issued = await bob.api.issueAgentToken(BOB, "writer runtime");
    assert(issued.token.startsWith("tfa_") && issued.agent === BOB);
    const agent = new TaskferryClient({ url: bob.running.url, token: issued.token });
    const other = new TaskferryClient({
      url: bob.running.url,
      token: (await bob.api.issueAgentToken(OTHER)).token,
    });
    // Stored hashed: the secret is nowhere in the database.
    const db = await Deno.readFile(`${bob.home}/client.db`).catch(() => new Uint8Array());
    assert(!new TextDecoder().decode(db).includes(issued.token), "the token is stored hashed");

    const agentStream = collect(await events(bob.running.url, issued.token));
    const ownerStream = collect(await events(bob.running.url, bob.token));
    streams.push(agentStream, ownerStream);
    const note = await alice.api.send({ from: ALICE, to: BOB, text: "hello writer" });
    const created = await alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Gated work",
      instructions: SECRET,
    });
    const id = created.task.id;
    await eventually(async () =>
      (await bob.api.tasks()).some((x) => x.id === id && x.gate === "pending")
    );
    await eventually(() => Promise.resolve(ownerStream.text().includes(id)));
    const requestId = created.message.id;

    await t.step("the agent's token cannot see the held task anywhere", async () => {
      assert(!(await agent.tasks()).some((x) => x.id === id), "task list");
      assert(!(await agent.tasks({ agent: BOB })).some((x) => x.id === id), "task list by agent");
      await refused(() => agent.task(id), 404, "task_not_found", "task detail");
      await refused(() => agent.artifact(id, 1), 404, "task_not_found", "artifact");
      const messages = await agent.request<unknown>("GET", "/v1/messages", undefined, {});
      assert(!JSON.stringify(messages).includes(SECRET), "message list");
      assert(JSON.stringify(messages).includes(note.message.id), "…which does list bob's messages");
      await refused(() => agent.message(requestId), 404, "not_found", "message by id");
      await refused(() => agent.ack(requestId, "read"), 404, "not_found", "ack");
      const inbox = await agent.inbox({ agent: BOB, after: 0 });
      assert(!JSON.stringify(inbox).includes(SECRET) && inbox.agent === BOB, "inbox");
      await refused(() => agent.acceptTask(id), 404, "task_not_found", "accept");
      // The oracle: the owner sees it all, so the checks above were looking at the right thing.
      assertEquals((await bob.api.task(id)).task.instructions, SECRET);
      assertEquals((await bob.api.message(requestId)).task_id, id);
    });

    await t.step("MCP get_task with the agent token: task_not_found", async () => {
      const transport = new StdioClientTransport({
        command: DENO,
        args: ["run", "-A", MAIN, "mcp"],
        env: childEnv({
          TASKFERRY_CLIENT_URL: bob.running.url,
          TASKFERRY_AGENT_TOKEN: issued.token,
          TASKFERRY_HOME: "/nonexistent-taskferry-home",
        }),
        stderr: "pipe",
      });
      let stderr = "";
      transport.stderr?.on("data", (b: Uint8Array) => (stderr += new TextDecoder().decode(b)));
      const mcp = new Client({ name: "agent-tokens-test", version: "1.0.0" });
      await mcp.connect(transport);
      try {
        const got = await mcp.callTool({ name: "get_task", arguments: { task_id: id } });
        const text = (got.content as { text: string }[])[0]!.text;
        assert(got.isError === true && text.startsWith("task_not_found:"), text);
        const listed = await mcp.callTool({ name: "list_tasks", arguments: {} });
        assert(!JSON.stringify(listed).includes(SECRET), "list_tasks");
        const me = await mcp.callTool({ name: "whoami", arguments: {} });
        assert(JSON.stringify(me).includes(BOB) && !JSON.stringify(me).includes(OTHER), "whoami");
        assert(!stderr.includes("owner's local API token"), `no owner-token warning: ${stderr}`);
      } finally {
        await mcp.close();
      }
    });

    await t.step("the agent's token cannot decide the gate or do owner things", async () => {
      await refused(() => agent.approveTask(id), 403, "forbidden", "approve");
      await refused(() => agent.rejectTask(id), 403, "forbidden", "reject");
      await refused(() => agent.issueAgentToken(BOB), 403, "forbidden", "issue a token");
      await refused(() => agent.agentTokens(), 403, "forbidden", "list tokens");
      await refused(() => agent.createAgent({ handle: "@bob/x" }), 403, "forbidden", "new agent");
      await refused(() => agent.quarantine(), 403, "forbidden", "quarantine");
      await refused(
        () =>
          agent.request("PATCH", `/v1/connections/${ALICE}`, {
            agent: BOB,
            permissions: { require_human_gate: false },
          }),
        403,
        "forbidden",
        "edit permissions",
      );
      await refused(
        () => agent.acceptConnection(ALICE, { permissions: { require_human_gate: false } }),
        403,
        "forbidden",
        "permissions in an answer",
      );
      await refused(() => agent.request("GET", "/v1/audit"), 403, "forbidden", "audit");
      // Path tricks do not reach the gate either.
      for (const path of [`/v1/tasks/${id}/%61pprove`, `/v1/tasks/${id}/approve/`]) {
        await refused(() => agent.request("POST", path, {}), 403, "forbidden", path);
      }
      assertEquals((await bob.api.task(id)).task.gate, "pending", "still held");
    });

    await t.step("the agent's token cannot reach another local agent", async () => {
      assertEquals((await agent.agents()).map((a) => a.handle), [BOB]);
      const q = { agent: OTHER };
      await refused(() => agent.inbox(q), 403, "forbidden", "other inbox");
      await refused(() => agent.tasks(q), 403, "forbidden", "other tasks");
      await refused(() => agent.connections(OTHER), 403, "forbidden", "other connections");
      await refused(
        () => agent.request("GET", "/v1/messages", undefined, q),
        403,
        "forbidden",
        "m",
      );
      await refused(
        () => agent.request("GET", "/v1/conversations", undefined, q),
        403,
        "forbidden",
        "c",
      );
      await refused(
        () => agent.send({ from: OTHER, to: ALICE, text: "hi" }),
        403,
        "forbidden",
        "as",
      );
      const res = await events(
        bob.running.url,
        issued.token,
        `?agent=${encodeURIComponent(OTHER)}`,
      );
      assertEquals(res.status, 403, "other agent's events");
      await res.body?.cancel();
      // …and the other agent's token cannot reach bob's inbox (the rule is per token, not a list).
      await refused(() => other.inbox({ agent: BOB }), 403, "forbidden", "bob's inbox");
      await refused(() => other.message(note.message.id), 404, "not_found", "bob's message");
    });

    await t.step("the owner approves; then the agent sees and works the task", async () => {
      await bob.api.approveTask(id);
      assertEquals((await agent.task(id)).task.instructions, SECRET);
      await agent.acceptTask(id);
      await eventually(() => Promise.resolve(agentStream.text().includes('"gate":"approved"')));
      const text = agentStream.text();
      // Everything before the event block that announced the approval.
      const before = text.slice(0, text.lastIndexOf("event:", text.indexOf('"gate":"approved"')));
      assert(!before.includes(id), `the stream said nothing about the held task: ${before}`);
      assert(!text.includes(OTHER), "nothing of the other agent");
      assert(!text.includes("quarantine"), "no owner events");
    });

    await t.step("a revoked token is refused at once; the owner still can everything", async () => {
      const listed = await bob.api.agentTokens(BOB);
      assertEquals(listed.map((x) => x.id), [issued.id]);
      assert(listed[0]!.last_used_at !== null, "last use recorded");
      assert(!JSON.stringify(listed).includes(issued.token), "the list never shows the secret");
      await bob.api.revokeAgentToken(issued.id);
      await refused(() => agent.health(), 401, "unauthorized", "revoked");
      await refused(() => bob.api.revokeAgentToken(issued.id), 404, "not_found", "twice");
      assertEquals((await bob.api.agents()).length, 2);
      assert((await bob.api.tasks({ agent: OTHER })).length === 0);
      await bob.api.request("GET", "/v1/audit");
      await bob.api.quarantine();
    });
  } finally {
    for (const s of streams) await s.close();
    await w.close();
  }
});

Deno.test("agent tokens: every route outside the agent table refuses an agent token (in process)", async () => {
  const db = openDatabase(":memory:", CLIENT_MIGRATIONS);
  const d = new Daemon(db, {
    clientId: "scope",
    deviceId: "dev_01M800TA6EF950VFRHF00M6645",
    relayUrl: undefined,
    relayToken: undefined,
    localApiToken: "tfl_scope",
  });
  try {
    await d.keyring.create({ handle: "@scope/a" });
    const app = daemonApp(d);
    const { token } = await issueAgentToken(d, "@scope/a");
    const routes = app.routes.filter((r) => r.method !== "ALL" && r.path.startsWith("/v1/"));
    let owner = 0;
    for (const r of routes) {
      const path = r.path.replace(":owner/:name", "@scope/a").replace(/:[a-z_]+/g, "x");
      if (agentMayCall(r.method, path)) continue;
      owner++;
      const res = await app.request(path, {
        method: r.method,
        headers: {
          host: "127.0.0.1:4318",
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
        },
        ...(r.method === "GET" ? {} : { body: "{}" }),
      });
      const body = await res.json() as { error?: { code: string } };
      assertEquals(`${res.status} ${body.error?.code}`, "403 forbidden", `${r.method} ${r.path}`);
    }
    assert(owner >= 12, `only ${owner} owner-only routes found`);
  } finally {
    db.close();
  }
});

Deno.test("agent tokens: docs/api.md's token table names every route of AGENT_ROUTES", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/api.md", import.meta.url));
  const start = doc.indexOf("### Which routes need which token");
  const table = doc.slice(start, doc.indexOf("Owner only", start));
  assert(start > 0, "the section exists");
  const missing = AGENT_ROUTES.map(([m, p]) => {
    const action = /^\/v1\/tasks\/:id\/([a-z]+)$/.exec(p)?.[1];
    if (action) return table.includes("`" + action + "`") ? null : `${m} ${p}`;
    const shown = `${m} ${p.replace(":owner/:name", "{handle}").replace(/:([a-z]+)/g, "{$1}")}`;
    return table.includes("`" + shown + "`") ? null : shown;
  }).filter((x) => x !== null);
  assertEquals(missing, [], "routes missing from the table");
});

Deno.test("agent tokens: the demo agents complete the whole flow holding agent tokens", async () => {
  const w = await startWorld();
  const ac = new AbortController();
  try {
    const writerApi = await agentClient(w.bob.api, BOB, "demo");
    const requesterApi = await agentClient(w.alice.api, ALICE, "demo");
    // A second run revokes the first run's demo token.
    assertEquals((await w.bob.api.agentTokens(BOB)).length, 1);
    const writer = runWriter({ api: writerApi, handle: BOB, signal: ac.signal, waitSeconds: 1 });
    const done = await runRequester({
      api: requesterApi,
      handle: ALICE,
      peer: BOB,
      once: true,
      signal: ac.signal,
      waitSeconds: 1,
    });
    assert(done, "the requester completed its task");
    ac.abort();
    await writer.catch(() => {});
    await eventually(async () => (await w.bob.api.tasks())[0]?.state === "completed");
  } finally {
    ac.abort();
    await w.close();
  }
});

Deno.test("agent tokens: the CLI issues (bare token on stdout), lists and revokes them", async () => {
  const w = await startWorld();
  try {
    const env = childEnv({
      TASKFERRY_CLIENT_URL: w.bob.running.url,
      TASKFERRY_LOCAL_API_TOKEN: w.bob.token,
      TASKFERRY_HOME: "/nonexistent-taskferry-home",
    });
    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(DENO, {
        args: ["run", "-A", MAIN, "agent", "token", ...args],
        env,
        clearEnv: true,
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    };
    const issued = await cli(BOB, "--label", "cli");
    assertEquals(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim();
    assert(/^tfa_[A-Za-z0-9_-]{43}$/.test(token), `stdout is the bare token: ${issued.stdout}`);
    assert(issued.stderr.includes("shown once"), issued.stderr);
    const agent = new TaskferryClient({ url: w.bob.running.url, token });
    assertEquals((await agent.agents()).map((a) => a.handle), [BOB]);
    const listed = await cli("list", "--json");
    const { tokens } = JSON.parse(listed.stdout) as { tokens: { id: string; label: string }[] };
    assertEquals(tokens.map((x) => x.label), ["cli"]);
    assert(!listed.stdout.includes(token), "list never prints the secret");
    assertEquals((await cli("revoke", tokens[0]!.id)).code, 0);
    await refused(() => agent.agents(), 401, "unauthorized", "revoked from the CLI");
    assertEquals((await cli("@bob/nobody")).code, 1, "unknown agent");
    assertEquals((await cli()).code, 2, "usage");
  } finally {
    await w.close();
  }
});
