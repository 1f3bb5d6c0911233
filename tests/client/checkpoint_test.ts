/**
 * The daemon's WAL checkpoints run in a Worker (lib/store/checkpoint.ts), not inside whichever
 * of the daemon's commits crosses SQLite's 1,000-page mark: driven through real daemons, every
 * message still arrives and the daemon's own connection never checkpoints on commit.
 */
import { assert, assertEquals } from "../assert.ts";
import { get } from "../../lib/store/mod.ts";
import { eventually, startWorld } from "./world.ts";

Deno.test("checkpoint: a daemon checkpoints from its worker, and nothing sent is lost", async () => {
  const world = await startWorld();
  try {
    const { alice, bob } = world;
    for (const d of [alice, bob]) {
      const auto = get<{ wal_autocheckpoint: number }>(
        d.running.daemon.db,
        "PRAGMA wal_autocheckpoint",
      );
      assertEquals(auto?.wal_autocheckpoint, 0);
    }
    const text = "x".repeat(3000); // ~4 kB envelopes: the WAL fills in a few hundred messages
    const sent: string[] = [];
    await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
      for (let i = 0; i < 30; i++) {
        const r = await alice.api.send({
          from: "@alice/requester",
          to: "@bob/writer",
          text: `${lane}.${i} ${text}`,
        });
        sent.push(r.message.id);
      }
    }));
    await eventually(async () => {
      const page = await bob.api.inbox({ agent: "@bob/writer", limit: 500 });
      return sent.every((id) => page.items.some((m) => m.id === id));
    });
    // Bob stores a burst's deliveries in few commits (group commit): one at a time, each
    // awaited, they are one commit each, so bob too passes `everyCommits`.
    for (let i = 0; i < 70; i++) {
      const { message } = await alice.api.send({
        from: "@alice/requester",
        to: "@bob/writer",
        text: `one at a time ${i}`,
      });
      await bob.api.waitForInbox("@bob/writer", (m) => m.id === message.id);
    }
    // Both daemons committed well over `everyCommits` times: their workers checkpointed.
    await eventually(() =>
      Promise.resolve(
        alice.running.checkpointer!.stats.worker > 0 && bob.running.checkpointer!.stats.worker > 0,
      )
    );
    assert(alice.running.checkpointer!.stats.inline === 0);
  } finally {
    await world.close();
  }
});
