/**
 * The worker runtime against an in-memory daemon (tests/worker/fake_api.ts) with REAL child
 * processes: what a run gets (stdin, env, cwd, task file), what comes back (progress, artifact,
 * failure), cancel and timeout reaching the whole process group, concurrency and queue
 * positions, revisions, restarts (at-least-once, never submitted twice) and the approval gate.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { TaskJournal } from "../../lib/worker/journal.ts";
import { taskDirs } from "../../lib/worker/round.ts";
import { AGENT, FakeDaemon } from "./fake_api.ts";
import { alive, poll, readMaybe, startWorker, tempDir } from "./helpers.ts";

const sh = (script: string, ...args: string[]) => ["sh", "-c", script, "sh", ...args];

Deno.test("worker: a script task gets the prompt on stdin, ids and paths in env; stdout becomes progress and the artifact", async () => {
  Deno.env.set("TASKFERRY_LOCAL_API_TOKEN", "owner-token-must-not-leak");
  await using w = startWorker({
    base: sh(
      `cat > prompt.txt
       echo "step one"; echo "step two"
       env | grep '^TASKFERRY_' | sort > env.txt
       printf '%s\\n' "$@" > argv.txt
       pwd > cwd.txt
       cp "$TASKFERRY_TASK_FILE" task-copy.json
       printf 'notes for the requester\\n' > "$TASKFERRY_OUTPUT_DIR/notes.md"
       echo "the result"`,
      "--flag-x",
    ),
    extraArgs: ["extra-1"],
  });
  Deno.env.delete("TASKFERRY_LOCAL_API_TOKEN");
  const id = w.fake.addTask({
    title: "Secret title",
    instructions: "Secret instructions",
    inputs: { key: "secret value" },
  });
  await w.fake.until("the artifact", () => w.fake.state(id) === "submitted");
  const [artifact] = w.fake.artifacts(id);
  assertEquals(artifact!.version, 1);
  assert(artifact!.content.startsWith("step one\nstep two\nthe result\n"), artifact!.content);
  assert(artifact!.content.includes("--- file: notes.md ---\nnotes for the requester\n"));
  assertEquals(artifact!.content_type, "text/plain");
  const progress = w.fake.progressLog.filter((p) => p.id === id).map((p) => p.input.text).join(
    "\n",
  );
  assert(progress.includes("step one") && progress.includes("the result"), progress);

  const cwd = join(w.workdir, id);
  const prompt = Deno.readTextFileSync(join(cwd, "prompt.txt"));
  assert(prompt.includes("# Task: Secret title") && prompt.includes("Secret instructions"));
  assert(prompt.includes('"key": "secret value"'), prompt);
  const env = Deno.readTextFileSync(join(cwd, "env.txt"));
  assert(env.includes(`TASKFERRY_TASK_ID=${id}\n`) && env.includes("TASKFERRY_REVISION=0\n"), env);
  assert(env.includes(`TASKFERRY_AGENT=${AGENT}\n`), env);
  assert(!/secret/i.test(env), `content or a token leaked into the environment:\n${env}`);
  assert(!env.includes("owner-token"), "the worker's token reached the child");
  assertEquals(Deno.readTextFileSync(join(cwd, "argv.txt")), "--flag-x\nextra-1\n");
  assertEquals(
    Deno.realPathSync(Deno.readTextFileSync(join(cwd, "cwd.txt")).trim()),
    Deno.realPathSync(cwd),
  );
  const taskFile = JSON.parse(Deno.readTextFileSync(join(cwd, "task-copy.json")));
  assertEquals(taskFile.task.id, id);
  assertEquals(taskFile.task.inputs, { key: "secret value" });
  assert(Array.isArray(taskFile.events) && Array.isArray(taskFile.artifacts));
  assertEquals(taskFile.round, { revision: 0, version: 1 });
});

Deno.test("worker: a non-zero exit fails the task with the status and the last stderr lines; stderr goes to the log", async () => {
  await using w = startWorker({
    base: sh(
      `echo partial; for i in 1 2 3; do echo "noise $i" >&2; done; echo "bad thing happened" >&2; exit 3`,
    ),
  });
  const id = w.fake.addTask();
  await w.fake.until("failed", () => w.fake.state(id) === "failed");
  assertEquals(w.fake.submits.length, 0);
  const fail = w.fake.fails[0]!.input;
  assertEquals(fail.code, "exit_status");
  assert(fail.reason.startsWith("exit status 3"), fail.reason);
  assert(fail.reason.includes("bad thing happened") && fail.reason.length <= 2000, fail.reason);
  assert(
    w.log.lines.some((l) => l.msg === "child stderr" && l.fields.line === "bad thing happened"),
  );
  const journal = TaskJournal.load(taskDirs(w.workdir, id, 0).state, id);
  assertEquals(journal.round(0)?.state, "failed");
});

Deno.test("worker: a command that cannot start fails the task (spawn_failed)", async () => {
  await using w = startWorker({ base: ["/nonexistent/taskferry-test-command"] });
  const id = w.fake.addTask();
  await w.fake.until("failed", () => w.fake.state(id) === "failed");
  assertEquals(w.fake.fails[0]!.input.code, "spawn_failed");
  assert(w.fake.fails[0]!.input.reason.includes("/nonexistent/taskferry-test-command"));
});

Deno.test("worker: --timeout stops the run and fails the task (timeout); the process is gone", async () => {
  await using w = startWorker({
    base: sh(`echo $$ > pid; echo started; sleep 30`),
    timeoutMs: 300,
    graceMs: 500,
  });
  const id = w.fake.addTask();
  await w.fake.until("failed", () => w.fake.state(id) === "failed");
  assertEquals(w.fake.fails[0]!.input.code, "timeout");
  assert(w.fake.fails[0]!.input.reason.startsWith("timed out after 0.3 s"));
  const pid = Number(readMaybe(join(w.workdir, id, "pid")));
  assert(pid > 0 && !alive(pid), "the timed-out process still runs");
});

Deno.test("worker: a cancel kills the whole process group (SIGTERM, then SIGKILL after the grace) and submits nothing", async () => {
  const graceMs = 1000;
  await using w = startWorker({
    // The leader dies on SIGTERM; its grandchild ignores SIGTERM and needs the SIGKILL. The run
    // says "started" only once the grandchild's trap is set (a loaded machine may be slow to it).
    base: sh(`sh -c 'trap "" TERM; : > stubborn.ready; exec sleep 30' & echo $! > stubborn.pid
              sleep 30 & echo $! > child.pid
              while [ ! -e stubborn.ready ]; do sleep 0.01; done
              echo $$ > leader.pid; echo started; wait`),
    graceMs,
  });
  const id = w.fake.addTask();
  await w.fake.until(
    "the run started",
    () => w.fake.progressLog.some((p) => p.input.text.includes("started")),
  );
  const dir = join(w.workdir, id);
  const pids = ["leader", "child", "stubborn"].map((n) => Number(readMaybe(join(dir, `${n}.pid`))));
  assert(pids.every((p) => p > 0 && alive(p)), `not all running: ${pids}`);
  const progressBefore = w.fake.progressLog.length;
  const t0 = performance.now();
  w.fake.cancel(id);
  await poll("the leader and its child gone", () => !alive(pids[0]!) && !alive(pids[1]!), graceMs);
  await poll("the SIGTERM-ignoring grandchild gone", () => !alive(pids[2]!), graceMs + 2000);
  // SIGKILL comes a grace period after SIGTERM, which comes after the cancel.
  const ms = performance.now() - t0;
  assert(ms >= graceMs * 0.9, `the grandchild died ${ms} ms after the cancel, before the grace`);
  await w.fake.until(
    "the round recorded as cancelled",
    () => TaskJournal.load(taskDirs(w.workdir, id, 0).state, id).round(0)?.state === "cancelled",
  );
  assertEquals(w.fake.state(id), "cancelled");
  assertEquals(w.fake.submits.length + w.fake.fails.length, 0);
  assertEquals(w.fake.progressLog.length, progressBefore, "progress was sent after the cancel");
});

Deno.test("worker: concurrency 2 with 4 tasks never runs more than 2 at once; the others hear their queue position", async () => {
  using runsDir = tempDir("tf-runs-");
  const runs = join(runsDir.path, "live");
  Deno.mkdirSync(runs);
  await using w = startWorker({
    base: sh(
      `touch "$1/$TASKFERRY_TASK_ID"; ls "$1" | wc -l >> "$1.counts"
       echo running; sleep 0.3; rm "$1/$TASKFERRY_TASK_ID"; echo done`,
      runs,
    ),
    concurrency: 2,
  });
  const ids = [1, 2, 3, 4].map(() => w.fake.addTask());
  await w.fake.until("all submitted", () => ids.every((id) => w.fake.state(id) === "submitted"));
  const counts = Deno.readTextFileSync(`${runs}.counts`).trim().split("\n").map(Number);
  assertEquals(counts.length, 4);
  assert(Math.max(...counts) <= 2, `children at once: ${counts}`);
  assertEquals(w.worker.peak, 2);
  const positions = w.fake.progressLog.filter((p) => p.input.queue_position !== undefined);
  assert(
    positions.some((p) => p.input.queue_position === 1 && p.input.text.includes("position 1")),
  );
  assert(positions.some((p) => p.input.queue_position === 2), JSON.stringify(positions));
  assert(
    positions.every((p) => ids.slice(2).includes(p.id)),
    "a running task was told a queue position",
  );
});

Deno.test("worker: a revision request runs again with the feedback and the previous artifact, in the same directory; v2 goes up", async () => {
  await using w = startWorker({
    base: sh(`cat > "prompt-$TASKFERRY_REVISION.txt"; echo x >> persist.txt
              echo "draft for revision $TASKFERRY_REVISION, runs here: $(wc -l < persist.txt)"`),
  });
  const id = w.fake.addTask({ title: "Haiku" });
  await w.fake.until("v1", () => w.fake.state(id) === "submitted");
  assertEquals(w.fake.artifacts(id)[0]!.content, "draft for revision 0, runs here: 1\n");
  w.fake.requestRevision(id, "Make it about gulls.");
  await w.fake.until("v2", () => w.fake.artifacts(id).length === 2);
  assertEquals(w.fake.artifacts(id)[1]!.content, "draft for revision 1, runs here: 2\n");
  assertEquals(w.fake.artifacts(id)[1]!.version, 2);
  const prompt = Deno.readTextFileSync(join(w.workdir, id, "prompt-1.txt"));
  assert(
    prompt.includes("## Revision 1 requested") && prompt.includes("Make it about gulls."),
    prompt,
  );
  assert(
    prompt.includes("## Previous artifact: version 1") && prompt.includes("runs here: 1"),
    prompt,
  );
});

Deno.test("worker: killed mid-run and restarted, the round runs again and is submitted once", async () => {
  const fake = new FakeDaemon();
  using dir = tempDir("tf-worker-");
  const workdir = dir.path;
  const base = sh(`echo $$ >> starts; echo started; [ -e release ] || sleep 30; echo finished`);
  const first = startWorker({ fake, workdir, base, graceMs: 200 });
  const id = fake.addTask();
  await fake.until("the first run", () => readMaybe(join(workdir, id, "starts")));
  await first.stop();
  const journal = TaskJournal.load(taskDirs(workdir, id, 0).state, id);
  assertEquals(journal.round(0)?.state, "cancelled"); // stopped with the worker, not delivered
  assertEquals(fake.state(id), "accepted");
  Deno.writeTextFileSync(join(workdir, id, "release"), "");
  await using second = startWorker({ fake, workdir, base });
  await fake.until("submitted", () => fake.state(id) === "submitted");
  assertEquals(readMaybe(join(workdir, id, "starts"))!.trim().split("\n").length, 2);
  assertEquals(fake.submits.length, 1);
  assertEquals(fake.artifacts(id)[0]!.content, "started\nfinished\n");
  const after = TaskJournal.load(taskDirs(workdir, id, 0).state, id).round(0)!;
  assertEquals([after.state, after.attempts], ["submitted", 2]);
  await second.stop();
});

Deno.test("worker: a round that finished but could not be submitted is delivered from the journal, not run again", async () => {
  const fake = new FakeDaemon();
  fake.failSubmits = 1;
  await using w = startWorker({ fake, base: sh(`echo run >> runs; echo result`) });
  const id = fake.addTask();
  await fake.until("submitted", () => fake.state(id) === "submitted");
  assertEquals(readMaybe(join(w.workdir, id, "runs")), "run\n");
  assertEquals(fake.submits.length, 1);
  assertEquals(fake.artifacts(id)[0]!.content, "result\n");
});

Deno.test("worker: a gated task is not run until the owner approves it", async () => {
  await using w = startWorker({ base: sh(`echo "ran $TASKFERRY_TASK_ID"`) });
  const gated = w.fake.addTask({ gated: true });
  const open = w.fake.addTask();
  await w.fake.until("the open task done", () => w.fake.state(open) === "submitted");
  assertEquals(w.fake.state(gated), "requested");
  assertEquals(readMaybe(join(w.workdir, ".taskferry", gated, "journal.json")), null);
  w.fake.approve(gated);
  await w.fake.until("the gated task done", () => w.fake.state(gated) === "submitted");
  assertEquals(w.fake.artifacts(gated)[0]!.content, `ran ${gated}\n`);
});

Deno.test("worker: after a crash (journal says running), the orphaned process group is killed and the round runs again", async () => {
  const fake = new FakeDaemon();
  using dir = tempDir("tf-worker-");
  const workdir = dir.path;
  const id = fake.addTask();
  await fake.accept(id);
  // What a worker killed with -9 leaves behind: a journal entry and a child in its own group.
  const orphan = new Deno.Command("sleep", { args: ["30"], detached: true, stdout: "null" })
    .spawn();
  const dirs = taskDirs(workdir, id, 0);
  Deno.mkdirSync(dirs.state, { recursive: true });
  TaskJournal.load(dirs.state, id).update(0, {
    version: 1,
    state: "running",
    attempts: 1,
    pid: orphan.pid,
  });
  await using w = startWorker({ fake, workdir, base: sh(`echo again`) });
  await fake.until("submitted", () => fake.state(id) === "submitted");
  await orphan.status;
  assert(!alive(orphan.pid), "the orphaned run still runs");
  assertEquals(fake.artifacts(id)[0]!.content, "again\n");
  assertEquals(TaskJournal.load(dirs.state, id).round(0)?.attempts, 2);
  await w.stop();
});
