/**
 * `taskferry task show` prints the work (latest artifact, `--version N`, `--diff A..B` as a
 * unified diff) and `taskferry inbox` a one-line preview, as real child processes; plus the
 * unified diff's hunks against what `diff -u` writes.
 */
import { assert, assertEquals } from "../assert.ts";
import { assertRefused, cli } from "./cli_run.ts";
import { eventually, startWorld } from "../client/world.ts";
import { unifiedDiff } from "../../lib/cli/unified_diff.ts";

const ALICE = "@alice/requester";
const BOB = "@bob/writer";
const V1 = "# Ferry haiku\n\nGrey water, low hum,\nthe ferry carries the work\nacross the sound.\n";
const V2 =
  "# Ferry haiku\n\nGrey water, low hum,\ngulls ride the ferry's wake,\nacross the sound.\nthe far shore answers.\n";

Deno.test("unified diff: hunks, context and line ranges as diff -u writes them", () => {
  const a = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
  const b = a.replace("line 2\n", "line two\n").replace("line 15\n", "")
    .replace("line 20\n", "line 20\nline 21\n");
  assertEquals(
    unifiedDiff(a, b, "a", "b"),
    [
      "--- a",
      "+++ b",
      "@@ -1,5 +1,5 @@",
      " line 1",
      "-line 2",
      "+line two",
      " line 3",
      " line 4",
      " line 5",
      "@@ -12,9 +12,9 @@",
      " line 12",
      " line 13",
      " line 14",
      "-line 15",
      " line 16",
      " line 17",
      " line 18",
      " line 19",
      " line 20",
      "+line 21",
      "",
    ].join("\n"),
  );
  assertEquals(unifiedDiff("", "x\n", "a", "b"), "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n");
  assertEquals(unifiedDiff("x\ny\n", "", "a", "b"), "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-x\n-y\n");
  assertEquals(unifiedDiff("same\n", "same\n", "a", "b"), "");
});

Deno.test("task show prints the artifact, a version, a diff; inbox previews items", async () => {
  const w = await startWorld();
  try {
    const { task } = await w.alice.api.createTask({
      from: ALICE,
      to: BOB,
      title: "Ferry haiku",
      instructions: "Three lines about a ferry.",
      max_revisions: 2,
    });
    const id = task.id;
    await w.bob.api.waitForInbox(BOB, (m) => m.task_id === id);
    await w.bob.api.acceptTask(id, { agent: BOB });
    await w.bob.api.submitArtifact(id, { agent: BOB, content: V1, content_type: "text/markdown" });
    await eventually(async () => (await w.alice.api.task(id)).task.artifact_version === 1);
    await w.alice.api.requestRevision(id, {
      agent: ALICE,
      feedback: "Add the gulls\nand a shore.",
    });
    await eventually(async () => (await w.bob.api.task(id)).task.state === "revision_requested");
    await w.bob.api.submitArtifact(id, { agent: BOB, content: V2, content_type: "text/markdown" });
    await eventually(async () => (await w.alice.api.task(id)).task.artifact_version === 2);
    await w.alice.api.send({ from: ALICE, to: [BOB], text: "Thanks!\nSee you." });
    await w.bob.api.waitForInbox(BOB, (m) => m.type === "message");

    const a = w.alice.home;
    const [latest, v1, diff, openDiff, missing, json, aliceInbox, bobInbox] = await Promise.all([
      cli(a, ["task", "show", id]),
      cli(a, ["task", "show", id, "--version", "1"]),
      cli(a, ["task", "show", id, "--diff", "1..2"]),
      cli(a, ["task", "show", id, "--diff", "v1.."]),
      cli(a, ["task", "show", id, "--version", "3"]),
      cli(a, ["task", "show", id, "--json"]),
      cli(a, ["inbox", "--agent", ALICE, "--type", "artifact_submit"]),
      cli(w.bob.home, ["inbox", "--agent", BOB]),
    ]);

    assertEquals(latest.code, 0, latest.stderr);
    const lines = latest.stdout.split("\n");
    assert(lines[0]!.startsWith(`${id}  submitted`), lines[0]);
    assert(lines[0]!.endsWith("v2  Ferry haiku"), lines[0]);
    assertEquals(lines[1], "instructions: Three lines about a ferry.");
    const body = latest.stdout.slice(latest.stdout.indexOf("── artifact v2"));
    assert(body.startsWith("── artifact v2 (text/markdown, "), body);
    assert(body.includes(`──\n${V2}── end of v2; also v1 (--version N, --diff A..B) ──\n`), body);

    assertEquals(v1.code, 0, v1.stderr);
    assert(v1.stdout.includes(`──\n${V1}── end of v1; also v2`), v1.stdout);
    assert(!v1.stdout.includes("gulls"), "--version 1 shows v1 only");

    assertEquals(diff.code, 0, diff.stderr);
    assertEquals(
      diff.stdout,
      [
        `--- ${id} v1`,
        `+++ ${id} v2`,
        "@@ -1,5 +1,6 @@",
        " # Ferry haiku",
        " ",
        " Grey water, low hum,",
        "-the ferry carries the work",
        "+gulls ride the ferry's wake,",
        " across the sound.",
        "+the far shore answers.",
        "",
      ].join("\n"),
    );
    assertEquals(openDiff.stdout, diff.stdout, "A.. runs to the latest version");
    assertRefused(missing, 1, `not_found: task ${id} has no artifact v3 (it has v1, v2)`);
    const parsed = JSON.parse(json.stdout);
    assertEquals(parsed.artifacts.map((x: { content: string }) => x.content), [V1, V2]);

    // One line per item, with what it says: the artifact's first words, the message's text.
    assertEquals(aliceInbox.code, 0, aliceInbox.stderr);
    const items = aliceInbox.stdout.trimEnd().split("\n");
    assertEquals(items.length, 2, aliceInbox.stdout);
    assert(
      items[0]!.endsWith(
        `${id} v1: # Ferry haiku ⏎ Grey water, low hum, ⏎ the ferry carries the work ⏎ across…`,
      ),
      items[0],
    );
    assert(items[1]!.includes(`${BOB} `) && items[1]!.includes("v2: # Ferry haiku"), items[1]);
    const bobLines = bobInbox.stdout.trimEnd().split("\n");
    const request = bobLines.find((l) => l.includes("task_request"));
    assert(request?.endsWith(`${id} Ferry haiku: Three lines about a ferry.`), request);
    const revision = bobLines.find((l) => l.includes("revision_request"));
    assert(revision?.endsWith(`${id} Add the gulls ⏎ and a shore.`), revision);
    const message = bobLines.find((l) => / message /.test(l));
    assert(message?.endsWith(`${ALICE.padEnd(24)} Thanks! ⏎ See you.`), message);
  } finally {
    await w.close();
  }
});
