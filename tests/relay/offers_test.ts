/**
 * The relay's part in offers (design §13, protocol §11.1), driven as hostile clients would: it
 * routes by header only, never decides, and refuses what no honest party sends.
 */
import { assertEquals } from "../assert.ts";
import { newId } from "../../lib/protocol/ids.ts";
import type { RelayFrame } from "../../lib/protocol/mod.ts";
import { connectAgents, registerAgent, seal, type SimAgent, SimSession, withRelay } from "./sim.ts";

const code = (f: RelayFrame) => f.type === "error" ? f.code : f.type;

Deno.test("relay: offers go to every candidate; claims, assignment and late writes by role", async () => {
  await withRelay({}, async (relay) => {
    const names = ["boss", "c1", "c2", "c3", "eve"];
    const agents: Record<string, SimAgent> = {};
    const sessions: Record<string, SimSession> = {};
    for (const n of names) {
      const token = await relay.addClient(n);
      agents[n] = await registerAgent(relay, token, n, "a", { public: true });
      sessions[n] = await SimSession.connect(relay, n, token, { autoAck: true });
    }
    const { boss, c1, c2, c3, eve } = agents as Record<string, SimAgent>;
    for (const c of ["c1", "c2", "c3"]) {
      await connectAgents(boss!, sessions.boss!, agents[c]!, sessions[c]!);
    }
    await connectAgents(eve!, sessions.eve!, boss!, sessions.boss!);
    const send = async (
      from: string,
      to: SimAgent[],
      type: string,
      payload: unknown,
      task: string,
    ) =>
      code(
        await sessions[from]!.send(
          await seal(agents[from]!, to, type as never, payload, {
            device_id: sessions[from]!.deviceId,
            task_id: task,
          }),
        ),
      );
    const task = newId("task");
    const offer = { title: "t", instructions: "i", claim: true };
    assertEquals(await send("boss", [c1!, c2!, c3!], "task_request", offer, task), "accepted");
    // A stranger to the offer cannot claim; a candidate claims only to the requester.
    assertEquals(await send("eve", [boss!], "task_claim", {}, task), "task_role");
    assertEquals(await send("c1", [boss!], "task_claim", {}, task), "accepted");
    assertEquals(await send("c2", [boss!], "task_claim", {}, task), "accepted");
    // Before the assignment nobody works: no artifact, and only the requester assigns.
    const artifact = { version: 1, content: "x" };
    assertEquals(
      await send("c1", [boss!], "artifact_submit", artifact, task),
      "illegal_transition",
    );
    assertEquals(
      await send("c1", [boss!], "task_assign", { worker: c1!.handle }, task),
      "task_role",
    );
    // The assignment must reach every candidate.
    const pick = { worker: c2!.handle };
    assertEquals(await send("boss", [c2!, c1!], "task_assign", pick, task), "task_role");
    assertEquals(await send("boss", [c2!, c1!, c3!], "task_assign", pick, task), "accepted");
    // From now on the task is the requester's and c2's; a late claim is short-circuited.
    assertEquals(await send("c3", [boss!], "task_claim", {}, task), "task_role");
    assertEquals(await send("c1", [boss!], "artifact_submit", artifact, task), "task_role");
    assertEquals(await send("c2", [boss!], "artifact_submit", artifact, task), "accepted");
    // A re-offer (the requester's task_assign on an assigned task, its lease lapsed) is legal
    // only while accepted; it drops the worker, who may write no more; the others claim again.
    const again = { lapsed: c2!.handle, round: 2 };
    assertEquals(
      await send("boss", [c1!, c3!, c2!], "task_assign", again, task),
      "illegal_transition",
    );
    const fresh = newId("task");
    assertEquals(await send("boss", [c1!, c2!, c3!], "task_request", offer, fresh), "accepted");
    assertEquals(await send("boss", [c2!, c1!, c3!], "task_assign", pick, fresh), "accepted");
    assertEquals(await send("boss", [c1!, c3!, c2!], "task_assign", again, fresh), "accepted");
    assertEquals(
      await send("c2", [boss!], "task_progress", { text: "still here" }, fresh),
      "task_role",
    );
    assertEquals(await send("c3", [boss!], "task_claim", {}, fresh), "accepted");
    // An open offer is cancelled to every candidate, never to some.
    assertEquals(await send("boss", [c1!], "task_cancel", {}, fresh), "task_role");
    assertEquals(await send("boss", [c1!, c3!], "task_cancel", {}, fresh), "accepted");
    assertEquals(await send("c1", [boss!], "task_claim", {}, fresh), "illegal_transition");
  });
});
