/**
 * Idempotency keys (issue 17, design §13), driven as a retrying client would: raw HTTP with an
 * `Idempotency-Key` against real daemons over a real relay. Five copies of one create sent at
 * once make one task (at both daemons) and five identical answers; the same key with another
 * body is `idempotency_conflict`; keys are per principal; a retry after the client gave up on a
 * request the daemon had accepted replays its answer; answers expire after 24 h (injected clock).
 * The SDK keys every state-changing call and retries a lost answer with the same key; the CLI
 * passes `--idempotency-key` through.
 */
import { CLIENT_MIGRATIONS, Daemon, daemonApp } from "../../lib/client/mod.ts";
import { issueAgentToken } from "../../lib/client/guards/agent_tokens.ts";
import { IDEMPOTENCY_TTL_MS } from "../../lib/client/guards/idempotency.ts";
import { sendCommand } from "../../lib/cli/send.ts";
import { type MessageView, TaskferryClient } from "../../lib/sdk/mod.ts";
import { openDatabase } from "../../lib/store/mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { ALICE, BOB } from "./helpers.ts";
import { eventually, startWorld, type TestDaemon } from "./world.ts";

/** One raw call to `t`'s loopback API. */
async function call(
  t: { running: { url: string } },
  token: string,
  path: string,
  body: unknown,
  key?: string,
  signal?: AbortSignal,
) {
  const res = await fetch(`${t.running.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  return {
    status: res.status,
    replayed: res.headers.get("idempotent-replayed"),
    text: await res.text(),
  };
}

const taskBody = (title: string) => ({ from: ALICE, to: BOB, title, instructions: "write it" });

/** The tasks `t` holds with `title`. */
async function tasksTitled(t: TestDaemon, title: string) {
  return (await t.api.tasks()).filter((x) => x.title === title);
}

Deno.test("idempotency: duplicates, conflicts, principals and a timed-out retry", async (t) => {
  const w = await startWorld();
  const { alice, bob } = w;
  try {
    await t.step(
      "5 concurrent copies of one create: one task at both daemons, 5 answers",
      async () => {
        const key = crypto.randomUUID();
        const answers = await Promise.all(
          Array.from(
            { length: 5 },
            () => call(alice, alice.token, "/v1/tasks", taskBody("once"), key),
          ),
        );
        assertEquals(
          answers.map((a) => a.status),
          [202, 202, 202, 202, 202],
        );
        assertEquals(new Set(answers.map((a) => a.text)).size, 1, "identical bodies");
        assertEquals(answers.filter((a) => a.replayed === "true").length, 4, "four replays");
        const id = (JSON.parse(answers[0]!.text) as { task: { id: string } }).task.id;
        assertEquals((await tasksTitled(alice, "once")).map((x) => x.id), [id]);
        await eventually(async () => (await tasksTitled(bob, "once")).length > 0);
        // A later create reaches bob after the first, so nothing else of "once" is on its way.
        await call(alice, alice.token, "/v1/tasks", taskBody("marker"));
        await eventually(async () => (await tasksTitled(bob, "marker")).length > 0);
        assertEquals((await tasksTitled(bob, "once")).map((x) => x.id), [id]);
      },
    );

    await t.step("the same key with another body or path: 409 idempotency_conflict", async () => {
      const key = crypto.randomUUID();
      const first = await call(alice, alice.token, "/v1/tasks", taskBody("first"), key);
      assertEquals(first.status, 202);
      const other = await call(alice, alice.token, "/v1/tasks", taskBody("second"), key);
      assertEquals(other.status, 409);
      assertEquals(JSON.parse(other.text).error.code, "idempotency_conflict");
      const path = await call(alice, alice.token, "/v1/messages", {
        from: ALICE,
        to: BOB,
        text: "x",
      }, key);
      assertEquals(JSON.parse(path.text).error.code, "idempotency_conflict");
      assertEquals((await tasksTitled(alice, "second")).length, 0, "nothing done");
      const again = await call(alice, alice.token, "/v1/tasks", taskBody("first"), key);
      assertEquals([again.status, again.replayed, again.text], [202, "true", first.text]);
    });

    await t.step("answers are stored in transactions batched per turn, each replayed", async () => {
      const store = alice.running.daemon.store;
      const put = store.idempotency.put.bind(store.idempotency);
      const inTransaction: boolean[] = [];
      store.idempotency.put = (row) => {
        inTransaction.push(store.db.isTransaction);
        put(row);
      };
      try {
        const keys = Array.from({ length: 16 }, () => crypto.randomUUID());
        const text = (i: number) => ({ from: ALICE, to: BOB, text: `together ${i}` });
        const first = await Promise.all(
          keys.map((k, i) => call(alice, alice.token, "/v1/messages", text(i), k)),
        );
        assert(first.every((r) => r.status === 202 && r.replayed === null));
        assertEquals(inTransaction.length, 16);
        assert(inTransaction.every(Boolean), "each put inside a transaction");
        const again = await Promise.all(
          keys.map((k, i) => call(alice, alice.token, "/v1/messages", text(i), k)),
        );
        assertEquals(again.map((r) => [r.replayed, r.text]), first.map((r) => ["true", r.text]));
      } finally {
        store.idempotency.put = put;
      }
    });

    await t.step("a malformed key is validation_failed and changes nothing", async () => {
      for (const key of ["has space", "x".repeat(256), "naïve"]) {
        const res = await call(alice, alice.token, "/v1/tasks", taskBody("bad key"), key);
        assertEquals(
          [res.status, JSON.parse(res.text).error.code],
          [400, "validation_failed"],
          key,
        );
      }
      assertEquals((await tasksTitled(alice, "bad key")).length, 0);
      // A body that is not JSON is passed through (here refused by the route), never stored.
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${alice.running.url}/v1/tasks`, {
          method: "POST",
          headers: { authorization: `Bearer ${alice.token}`, "idempotency-key": "not-json" },
          body: "plain text",
        });
        assertEquals([res.status, res.headers.get("idempotent-replayed")], [415, null]);
        await res.body?.cancel();
      }
    });

    await t.step("keys are per principal: an agent token's key is its own", async () => {
      const agent = await alice.api.issueAgentToken(ALICE);
      const key = crypto.randomUUID();
      const owner = await call(alice, alice.token, "/v1/tasks", taskBody("scoped"), key);
      const mine = await call(alice, agent.token, "/v1/tasks", taskBody("scoped"), key);
      assertEquals([owner.status, mine.status, mine.replayed], [202, 202, null]);
      assert(owner.text !== mine.text, "two answers");
      assertEquals((await tasksTitled(alice, "scoped")).length, 2, "two tasks");
      const replay = await call(alice, agent.token, "/v1/tasks", taskBody("scoped"), key);
      assertEquals([replay.replayed, replay.text], ["true", mine.text]);
    });

    await t.step("a retry after the client gave up replays the accepted request", async () => {
      // Hold the create inside the daemon (after it accepted the request) until the client aborts.
      const d = alice.running.daemon;
      const send = d.outbox.send.bind(d.outbox);
      const reached = Promise.withResolvers<void>();
      const release = Promise.withResolvers<void>();
      d.outbox.send = async (...args: Parameters<typeof send>) => {
        reached.resolve();
        await release.promise;
        return await send(...args);
      };
      try {
        const key = crypto.randomUUID();
        const abort = new AbortController();
        const first = call(
          alice,
          alice.token,
          "/v1/tasks",
          taskBody("timed out"),
          key,
          abort.signal,
        );
        await reached.promise;
        abort.abort();
        await first.then(() => assert(false, "the first call must fail"), () => {});
        release.resolve();
        await eventually(async () => (await tasksTitled(alice, "timed out")).length > 0);
        const retry = await call(alice, alice.token, "/v1/tasks", taskBody("timed out"), key);
        assertEquals([retry.status, retry.replayed], [202, "true"]);
        const tasks = await tasksTitled(alice, "timed out");
        assertEquals(tasks.map((x) => x.id), [JSON.parse(retry.text).task.id]);
      } finally {
        d.outbox.send = send;
        release.resolve();
      }
    });

    await t.step(
      "a streamed answer is not replayed: a repeat is idempotency_in_progress",
      async () => {
        const send = () =>
          fetch(`${alice.running.url}/v1/responses`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${alice.token}`,
              "content-type": "application/json",
              "idempotency-key": "stream-1",
            },
            body: JSON.stringify({ model: BOB, input: "stream once", stream: true }),
          });
        const first = await send();
        assertEquals(first.headers.get("content-type")?.split(";")[0], "text/event-stream");
        await first.body?.cancel();
        const again = await send();
        assertEquals(again.status, 409);
        assertEquals((await again.json()).error.code, "idempotency_in_progress");
        assertEquals((await tasksTitled(alice, "stream once")).length, 1, "one start");
      },
    );

    // The daemon did the work; its answer is lost on the way back: before the status line, or
    // after it, mid-body.
    const losses: [string, (res: Response) => Response][] = [
      ["lost answer", () => {
        throw new TypeError("connection reset by peer");
      }],
      ["cut answer", (res) => {
        const broken = new ReadableStream({
          pull: (c) => c.error(new TypeError("error reading a body from connection")),
        });
        return new Response(broken, { status: res.status, headers: res.headers });
      }],
    ];
    for (const [title, lose] of losses) {
      await t.step(`the SDK retries a ${title} with the same key: one task`, async () => {
        const keys: string[] = [];
        let lost = false;
        const api = new TaskferryClient({
          url: alice.running.url,
          token: alice.token,
          fetch: async (input, init) => {
            const res = await fetch(input, init);
            if (init?.method !== "POST") return res;
            keys.push(new Headers(init.headers).get("idempotency-key") ?? "none");
            if (lost) return res;
            lost = true;
            await res.body?.cancel();
            return lose(res);
          },
        });
        const r = await api.createTask(taskBody(title));
        assertEquals(keys.length, 2);
        assertEquals(keys[0], keys[1], "the retry reuses the key");
        assertEquals((await tasksTitled(alice, title)).map((x) => x.id), [r.task.id]);
      });
    }

    await t.step("the SDK: a fresh key per call, or the caller's; the CLI flag", async () => {
      await alice.api.createTask(taskBody("fresh"));
      await alice.api.createTask(taskBody("fresh"));
      assertEquals((await tasksTitled(alice, "fresh")).length, 2, "two calls, two tasks");
      const a = await alice.api.createTask(taskBody("given"), { idempotencyKey: "run-1" });
      const b = await alice.api.createTask(taskBody("given"), { idempotencyKey: "run-1" });
      assertEquals(a, b);
      assertEquals((await tasksTitled(alice, "given")).length, 1);
      const log = console.log;
      console.log = () => {};
      try {
        for (let i = 0; i < 2; i++) {
          const args = ["--url", alice.running.url, "--token", alice.token, "--json"];
          args.push("--idempotency-key", "cli-1", "--from", ALICE, "--to", BOB, "cli once");
          assertEquals(await sendCommand.run(args), 0);
        }
      } finally {
        console.log = log;
      }
      const sent = await alice.api.request<{ messages: MessageView[] }>(
        "GET",
        "/v1/messages",
        undefined,
        {
          agent: ALICE,
          type: "message",
        },
      );
      assertEquals(sent.messages.filter((m) => m.payload.text === "cli once").length, 1);
    });
  } finally {
    await w.close();
  }
});

Deno.test("idempotency: answers are replayed for 24 h, then expire and are swept", async () => {
  const clock = { t: Date.parse("2026-01-01T00:00:00Z") };
  const db = openDatabase(":memory:", CLIENT_MIGRATIONS);
  const d = new Daemon(db, {
    clientId: "idem",
    deviceId: "dev_01M800TA6EF950VFRHF00M6645",
    relayUrl: undefined,
    relayToken: undefined,
    localApiToken: "tfl_idem",
  }, { now: () => clock.t });
  try {
    await d.keyring.create({ handle: "@idem/a" });
    const app = daemonApp(d);
    const other = await issueAgentToken(d, "@idem/a");
    const issue = async (key: string) => {
      const res = await app.request("/v1/agents/@idem/a/tokens", {
        method: "POST",
        headers: {
          host: "127.0.0.1:4318",
          authorization: "Bearer tfl_idem",
          "content-type": "application/json",
          "idempotency-key": key,
        },
        body: JSON.stringify({ label: "ci" }),
      });
      const body = await res.json() as { token: { id: string } };
      return { id: body.token.id, replayed: res.headers.get("idempotent-replayed") };
    };
    const first = await issue("k1");
    clock.t += IDEMPOTENCY_TTL_MS - 1;
    assertEquals(await issue("k1"), { id: first.id, replayed: "true" }, "within 24 h");
    assertEquals(d.store.idempotency.count(), 1);
    clock.t += 60_000; // past 24 h, and past the sweep's pace
    const k2 = await issue("k2");
    assertEquals(d.store.idempotency.count(), 1, "k1's answer was swept");
    assertEquals(d.store.idempotency.find("owner", "k1", 0), undefined);
    const later = await issue("k1");
    assert(later.id !== first.id && later.replayed === null, "expired: runs again");
    const ids = d.store.tokens.list("@idem/a").map((x) => x.id).sort();
    assertEquals(ids, [other.id, first.id, k2.id, later.id].sort());
  } finally {
    db.close();
  }
});
