/**
 * Errors that say how to fix them (issue 22): each refusal a person meets on the CLI, as a
 * real child process against real daemons, with its exact text.
 */
import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { assertRefused, cli } from "./cli_run.ts";
import { startWorld } from "../client/world.ts";
import { HANDLE_RULE } from "../../lib/cli/handle_hint.ts";

const SUBS =
  "create, list, show, accept, claim, decline, submit, revise, complete, cancel, approve, reject";

/** A loopback port nobody listens on (bound, then released). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("cli errors: each refusal names the problem and the fix, exactly", async () => {
  const w = await startWorld();
  const empty = await Deno.makeTempDir({ prefix: "tf-cli-empty-" });
  const wrongHome = await Deno.makeTempDir({ prefix: "tf-cli-wrong-" });
  try {
    const a = w.alice.home;
    const b = w.bob.home;
    // A second requester asks bob: the one pending request `accept` can list.
    await w.alice.api.createAgent({ handle: "@alice/second" });
    await w.alice.api.connect({ from: "@alice/second", to: "@bob/writer" });
    await w.bob.api.waitForInbox(
      "@bob/writer",
      (m) => m.type === "connection_request" && m.from === "@alice/second",
    );
    const invite = await w.bob.api.createInvite("@bob/writer");
    const unknownLink = invite.url.replace(`/invite/${invite.code}`, "/invite/NoSuchCode1234");
    // A home whose daemon.json is right but whose local-token is not.
    await Deno.copyFile(join(b, "daemon.json"), join(wrongHome, "daemon.json"));
    await Deno.writeTextFile(join(wrongHome, "local-token"), "tfl_not_the_token\n");
    const port = closedPort();

    const [
      unknownInvite,
      shortCode,
      nothingPending,
      notFromThem,
      badHandle,
      longHandle,
      goHandle,
      bareName,
      noDaemon,
      wrongTokenFlag,
      wrongTokenFile,
      unknownSub,
      noSub,
      unknownCommand,
      emptySend,
      noInstructions,
    ] = await Promise.all([
      cli(a, ["connect", "--from", "@alice/requester", unknownLink]),
      cli(a, ["connect", "--from", "@alice/requester", "taskferry://relay.example/invite/abc"]),
      cli(b, ["accept", "@alice/requester", "--agent", "@bob/writer"]),
      cli(b, ["accept", "@alice/requester"]),
      cli(b, ["agent-create", "@Bob/Writer"]),
      cli(b, ["agent-create", "@bob/" + "w".repeat(40)]),
      cli(a, ["send", "--from", "@client_alice/requester", "--to", "@bob/writer", "hi"]),
      cli(a, ["connect", "--from", "@alice/requester", "bob"]),
      cli(empty, ["agents"], { TASKFERRY_CLIENT_ADDR: `127.0.0.1:${port}` }),
      cli(b, ["agents", "--token", "tfl_wrong"]),
      cli(wrongHome, ["agents"]),
      cli(a, ["task", "frobnicate"]),
      cli(a, ["task"]),
      cli(a, ["zzz"]),
      cli(a, ["send", "--from", "@alice/requester", "--to", "@bob/writer", "   "]),
      cli(a, [
        "task",
        "create",
        "--from",
        "@alice/requester",
        "--to",
        "@bob/writer",
        "--title",
        "T",
      ]),
    ]);

    const unknownMessage = (code: string) =>
      `invite_not_found: the invite code '${code}' is unknown or expired: ask the agent's owner for a new link (they run 'taskferry invite AGENT')`;
    assertRefused(unknownInvite, 1, unknownMessage("NoSuchCode1234"));
    assertRefused(shortCode, 1, unknownMessage("abc"));
    assertRefused(
      nothingPending,
      1,
      "connection_not_pending: there is no pending request from @alice/requester to @bob/writer (pending: @alice/second → @bob/writer)",
    );
    assertRefused(
      notFromThem,
      1,
      "connection_not_pending: there is no pending request from @alice/requester (pending: @alice/second → @bob/writer)",
    );
    assertRefused(
      badHandle,
      2,
      `HANDLE '@Bob/Writer' is not a valid handle: ${HANDLE_RULE}; did you mean '@bob/writer'?`,
    );
    assertRefused(
      longHandle,
      2,
      `HANDLE '@bob/${"w".repeat(40)}' is not a valid handle: ${HANDLE_RULE}; did you mean '@bob/${
        "w".repeat(32)
      }'?`,
    );
    assertRefused(
      goHandle,
      2,
      `--from '@client_alice/requester' is not a valid handle: ${HANDLE_RULE}; did you mean '@alice/requester'?`,
    );
    assertRefused(
      bareName,
      2,
      `HANDLE 'bob' is not a valid handle: ${HANDLE_RULE}; did you mean '@bob/agent'?`,
    );
    assertRefused(
      noDaemon,
      1,
      `unavailable: no daemon answers at http://127.0.0.1:${port} (looked for ${
        join(empty, "daemon.json")
      }: not found; then the default address 127.0.0.1:${port}): start one with 'taskferry client', or point at it with --home DIR or --url URL`,
    );
    assertRefused(
      wrongTokenFlag,
      1,
      `unauthorized: the daemon at ${w.bob.running.url} refused the local API token (given with --token): pass the token of that daemon with --token TOKEN, or its data directory with --home DIR`,
    );
    assertRefused(
      wrongTokenFile,
      1,
      `unauthorized: the daemon at ${w.bob.running.url} refused the local API token (read from ${
        join(wrongHome, "local-token")
      }): pass the token of that daemon with --token TOKEN, or its data directory with --home DIR`,
    );
    assertRefused(
      unknownSub,
      2,
      `unknown subcommand 'task frobnicate': use one of ${SUBS} (see: taskferry help task)`,
    );
    assertRefused(noSub, 2, `task needs a subcommand: ${SUBS} (see: taskferry help task)`);
    assertRefused(unknownCommand, 2, "unknown command 'zzz' (see: taskferry --help)");
    assertRefused(
      emptySend,
      2,
      "send refuses an empty message: give TEXT (or pipe it on standard input) or --data JSON",
    );
    assertRefused(
      noInstructions,
      2,
      "task create needs --from, --to, --title and --instructions (see: taskferry help task)",
    );
    // Refusals change nothing: no task, no blank message reached bob.
    const [tasks, inbox] = await Promise.all([
      w.bob.api.tasks(),
      w.bob.api.inbox({ agent: "@bob/writer", type: "message" }),
    ]);
    if (tasks.length || inbox.items.length) throw new Error("a refused verb changed state");
  } finally {
    await w.close();
    for (const dir of [empty, wrongHome]) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli connect: a link without a fingerprint pins the key but says it was not verified", async () => {
  const w = await startWorld();
  try {
    const a = w.alice.home;
    await w.alice.api.createAgent({ handle: "@alice/third" });
    await w.alice.api.createAgent({ handle: "@alice/fourth" });
    const served = (await w.bob.api.agents()).find((x) => x.handle === "@bob/writer")!.fingerprint;
    const bare = (await w.bob.api.createInvite("@bob/writer")).url.replace(/#.*$/, "#fp=");
    const unverified = await cli(a, ["connect", "--from", "@alice/third", bare]);
    assertEquals(unverified.code, 0, unverified.stderr);
    assertEquals(
      unverified.stderr,
      `taskferry: not verified: the link carried no fingerprint (#fp=), so the key the relay ` +
        `serves for @bob/writer (${served}) was pinned unchecked; compare it with its owner ` +
        `before you trust it\n`,
    );
    // With the inviter's fingerprint in the link, nothing to warn about.
    const full = (await w.bob.api.createInvite("@bob/writer")).url;
    const verified = await cli(a, ["connect", "--from", "@alice/fourth", full]);
    assertEquals([verified.code, verified.stderr], [0, ""]);
  } finally {
    await w.close();
  }
});
