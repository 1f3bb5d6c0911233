/**
 * `taskferry task create --to cap:NAME | A,B` offers a task; `taskferry task claim` takes it
 * (issue 17), as child processes against the offers world.
 */
import { assertEquals } from "../assert.ts";
import { BOSS, REVIEWERS, startClaimsWorld, view } from "../client/claims_world.ts";
import { eventually } from "../client/world.ts";
import { cli } from "./cli_run.ts";

// deno-lint-ignore no-explicit-any
async function ok(home: string, ...args: string[]): Promise<any> {
  const r = await cli(home, args);
  assertEquals(r.code, 0, `taskferry ${args.join(" ")}\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}

Deno.test("cli: task create offers to cap:NAME or a list; task claim takes it", async () => {
  const w = await startClaimsWorld();
  try {
    const [R1, R2, R3] = REVIEWERS as [string, string, string];
    const create = ["task", "create", "--from", BOSS, "--title", "Review", "--instructions", "go"];
    const byCap = await ok(w.boss.home, ...create, "--to", "cap:review", "--json");
    assertEquals([byCap.task.state, byCap.task.candidates], ["offered", [R1, R2, R3]]);
    const byList = await ok(
      w.boss.home,
      ...create,
      "--to",
      `${R1},${R3}`,
      "--lease-seconds",
      "60",
      "--json",
    );
    assertEquals([byList.task.candidates, byList.task.lease.seconds], [[R1, R3], 60]);

    const id = byCap.task.id;
    const c2 = w.candidates[1]!;
    await eventually(async () => (await view(c2, id)).state === "offered");
    await ok(c2.home, "task", "claim", id, "--note", "mine", "--json");
    await eventually(async () => (await view(w.boss, id)).worker === R2);
    const shown = await cli(c2.home, ["task", "claim", id]);
    assertEquals(shown.code, 1, shown.stdout + shown.stderr);
  } finally {
    await w.close();
  }
});
