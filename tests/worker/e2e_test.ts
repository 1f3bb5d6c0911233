/**
 * `taskferry worker` end to end, every part its own process: a relay, alice's and bob's daemons
 * and the worker (tests/worker/e2e_world.ts). Scenarios: a script task, a revision loop, a
 * failing command (failed at both ends with the reason), a cancel that kills a sleeping child,
 * the worker killed with -9 mid-run and restarted (the task completes once), concurrency 2 with
 * 4 tasks, and a gated task that is not run until the owner approves.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ALICE, BOB, startProcessWorld, until } from "./e2e_world.ts";
import { alive, poll, readMaybe } from "./helpers.ts";

const exec = (script: string) => ["--exec", `sh -c '${script.replaceAll("'", `'"'"'`)}'`];

Deno.test({
  name:
    "e2e worker: script task, revisions, failure, cancel, kill -9 and restart, concurrency, gate",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using world = await startProcessWorld();
    const { alice, bob } = world;
    const created: string[] = [];
    const newTask = async (title: string) => {
      const input = { from: ALICE, to: BOB, title, instructions: `Do ${title}.` };
      const { task } = await alice.createTask(input);
      created.push(task.id);
      return task.id;
    };
    // A step that fails must not leave work behind for the next step's worker.
    const cleanUp = async () => {
      for (const id of created.splice(0)) {
        await alice.cancelTask(id, { agent: ALICE }).catch(() => {});
      }
    };
    const stateAt = async (
      id: string,
    ) => [(await alice.task(id)).task.state, (await bob.task(id)).task.state];
    const both = (id: string, state: string) =>
      until(
        `${id} ${state} at both ends`,
        async () => (await stateAt(id)).every((s) => s === state),
      );
    const dir = (name: string) => join(world.root, name);

    await t.step("a script task and a revision loop", async () => {
      const events = world.events("alice");
      const worker = world.worker(
        exec(
          `sed -n "/^## Revision/,+2p" > feedback.txt; echo "progress line"; echo "rev $TASKFERRY_REVISION"; cat feedback.txt`,
        ),
        dir("w-script"),
        "worker-script",
      );
      try {
        const id = await newTask("Script");
        await both(id, "submitted");
        const v1 = (await alice.task(id)).artifacts;
        assertEquals(v1.map((a) => [a.version, a.content]), [[1, "progress line\nrev 0\n"]]);
        await alice.requestRevision(id, { agent: ALICE, feedback: "Mention gulls." });
        await until("v2", async () => (await alice.task(id)).artifacts.length === 2);
        const v2 = (await alice.task(id)).artifacts[1]!;
        assert(v2.content.startsWith("progress line\nrev 1\n## Revision 1 requested"), v2.content);
        assert(v2.content.includes("Mention gulls."), v2.content);
        // Progress needs the daemon's task_progress (design §11): alice sees it in the task or
        // on her event stream.
        await until(
          "progress at the requester",
          async () =>
            events.text().includes("progress line") ||
            JSON.stringify({ ...await alice.task(id), artifacts: [] }).includes("progress line"),
        );
        await alice.completeTask(id, { agent: ALICE });
        await both(id, "completed");
      } finally {
        events.close();
        await worker.stop();
        await cleanUp();
      }
    });

    await t.step("a failing command fails the task at both ends with the reason", async () => {
      const worker = world.worker(
        exec(`echo "oops: disk full" >&2; exit 4`),
        dir("w-fail"),
        "worker-fail",
      );
      try {
        const id = await newTask("Failing");
        await both(id, "failed");
        const seen = JSON.stringify(await alice.task(id));
        assert(seen.includes("exit status 4") && seen.includes("oops: disk full"), seen);
        assertEquals((await alice.task(id)).artifacts, []);
      } finally {
        await worker.stop();
        await cleanUp();
      }
    });

    await t.step("a cancel kills the sleeping child within the grace period", async () => {
      const workdir = dir("w-cancel");
      const worker = world.worker(
        [...exec(`echo $$ > pid; echo started; sleep 60`), "--grace", "1s"],
        workdir,
        "worker-cancel",
      );
      try {
        const id = await newTask("Sleepy");
        const pid = await until(
          "the child",
          () => Number(readMaybe(join(workdir, id, "pid")) ?? 0),
        );
        assert(alive(pid));
        await alice.cancelTask(id, { agent: ALICE });
        const ms = await poll("the child gone", () => !alive(pid), 10_000);
        await both(id, "cancelled");
        assertEquals((await bob.task(id)).artifacts, []);
        console.log(`cancel → child gone in ${Math.round(ms)} ms`);
      } finally {
        await worker.stop();
        await cleanUp();
      }
    });

    await t.step("the worker killed -9 mid-run and restarted completes the task once", async () => {
      const workdir = dir("w-restart");
      const args = exec(`echo $$ >> starts; [ -e release ] || sleep 60; echo finished`);
      const first = world.worker(args, workdir, "worker-restart-1");
      const id = await newTask("Restart");
      await until("the first run", () => readMaybe(join(workdir, id, "starts")));
      await first.stop("SIGKILL");
      Deno.writeTextFileSync(join(workdir, id, "release"), "");
      const second = world.worker(args, workdir, "worker-restart-2");
      try {
        await both(id, "submitted");
        // A second worker for the same agent is refused while this one runs.
        const third = world.worker(args, workdir, "worker-restart-3");
        assertEquals((await third.child.status).code, 1);
        await third.stop();
        assert(Deno.readTextFileSync(third.log).includes("a worker for @bob/writer already runs"));
        assertEquals(readMaybe(join(workdir, id, "starts"))!.trim().split("\n").length, 2);
        assertEquals((await alice.task(id)).artifacts.map((a) => [a.version, a.content]), [[
          1,
          "finished\n",
        ]]);
        await alice.completeTask(id, { agent: ALICE });
      } finally {
        await second.stop();
        await cleanUp();
      }
    });

    await t.step("concurrency 2 with 4 tasks: never more than 2 children at once", async () => {
      const runs = dir("runs");
      Deno.mkdirSync(runs);
      const worker = world.worker(
        [
          ...exec(
            `touch "${runs}/$TASKFERRY_TASK_ID"; ls "${runs}" | wc -l >> "${runs}.counts"; sleep 0.5; rm "${runs}/$TASKFERRY_TASK_ID"; echo ok`,
          ),
          "--concurrency",
          "2",
        ],
        dir("w-conc"),
        "worker-conc",
      );
      try {
        const ids = await Promise.all(["C1", "C2", "C3", "C4"].map(newTask));
        for (const id of ids) await both(id, "submitted");
        const counts = Deno.readTextFileSync(`${runs}.counts`).trim().split("\n").map(Number);
        assertEquals(counts.length, 4);
        assert(Math.max(...counts) <= 2, `children at once: ${counts}`);
        for (const id of ids) await alice.completeTask(id, { agent: ALICE });
      } finally {
        await worker.stop();
        await cleanUp();
      }
    });

    await t.step("a gated task is not run until the owner approves it", async () => {
      await bob.setPermissions(ALICE, BOB, { require_human_gate: true });
      const workdir = dir("w-gate");
      const worker = world.worker(exec(`echo gated-ok`), workdir, "worker-gate");
      try {
        const id = await newTask("Gated");
        await until("held at the gate", async () => (await bob.task(id)).task.gate === "pending");
        assertEquals(readMaybe(join(workdir, ".taskferry", id, "journal.json")), null);
        await bob.approveTask(id);
        await both(id, "submitted");
        const events = (await bob.task(id)).events.map((e) => e.type);
        assert(events.indexOf("gate") < events.indexOf("task_accept"), events.join(","));
        assertEquals((await alice.task(id)).artifacts[0]!.content, "gated-ok\n");
      } finally {
        await worker.stop();
        await cleanUp();
      }
    });
  },
});
