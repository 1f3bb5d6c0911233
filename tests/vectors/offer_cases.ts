/**
 * The offer vectors (issue 17, design §13), added after every earlier vector: a task offered to
 * three candidates, one candidate's claim, and the requester's assignment to every candidate
 * with the chosen worker first. Built by generate.ts.
 */
import { type EnvelopeCase, fixedUlid } from "./generate.ts";

/** The offer cases for the fixed test agents. */
export function offerCases(
  h: { ALICE: string; BOB: string; CAROL: string; DAVE: string },
): EnvelopeCase[] {
  const { ALICE, BOB, CAROL, DAVE } = h;
  const TASK_3 = `task_${fixedUlid("2026-11-21T22:00:00.000Z", "7A5E")}`;
  return [
    {
      name: "task-offer",
      description: "task_request from @alice/requester offered to three candidates (claim: true)",
      type: "task_request",
      from: ALICE,
      to: [BOB, CAROL, DAVE],
      created_at: "2026-11-21T22:00:00.000Z",
      ulid_random: "9",
      task: TASK_3,
      plaintext: {
        title: "Review the release notes",
        instructions: "Whoever can review: take it.",
        max_revisions: 1,
        claim: true,
      },
    },
    {
      name: "task-claim",
      description: "task_claim from the candidate @carol/reviewer to the requester",
      type: "task_claim",
      from: CAROL,
      to: [ALICE],
      created_at: "2026-11-21T22:00:01.000Z",
      ulid_random: "A",
      task: TASK_3,
      plaintext: { note: "mine" },
    },
    {
      name: "task-assign",
      description:
        "task_assign from @alice/requester to every candidate, the assigned worker @carol/reviewer " +
        "first: offered → accepted for her, withdrawn for the others",
      type: "task_assign",
      from: ALICE,
      to: [CAROL, BOB, DAVE],
      created_at: "2026-11-21T22:00:01.500Z",
      ulid_random: "B",
      task: TASK_3,
      plaintext: { worker: CAROL, round: 1 },
    },
  ];
}
