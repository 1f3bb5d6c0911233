/**
 * How a grouped accept that is refused after writing is undone (lib/relay/store/sqlite_group.ts):
 * its envelope and delivery rows are deleted again, other writes (effects) are rolled back to
 * its savepoint, the accepts around it keep theirs; and when undoing fails the whole group is
 * refused and nothing of it is stored.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals } from "../assert.ts";
import type { AcceptEffects } from "../../lib/relay/store.ts";
import { openSqliteRelayStore, type SqliteRelayStore } from "../../lib/relay/sqlite_store.ts";
import { messageRow } from "./store_setup.ts";

/** One grouped accept for bob; `refuse` throws after its writes. Resolves to its outcome. */
function accept(store: SqliteRelayStore, id: string, effects: AcceptEffects = {}, refuse = false) {
  const answer = Promise.withResolvers<string>();
  store.grouped(async (s) => {
    await s.insertEnvelope(messageRow(id));
    await s.queueEnvelope(messageRow(id), ["bob"], effects);
    if (refuse) throw new Error("refused after writing");
  }, (outcome, commitError) => {
    // As accepts.ts answers: its own refusal first, else the COMMIT's.
    answer.resolve(!outcome.ok ? "refused" : commitError !== undefined ? "failed" : "accepted");
  });
  return answer.promise;
}

async function withStore(fn: (store: SqliteRelayStore, path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "tf-undo-" });
  const path = join(dir, "relay.db");
  const store = openSqliteRelayStore(path, { checkpoint: false });
  try {
    for (const c of ["alice", "bob"]) await store.addClient(c, "h", 1);
    await fn(store, path);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function stored(path: string) {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const ids = (sql: string) => db.prepare(sql).all().map((r) => String(r.id));
    return {
      envelopes: ids("SELECT id FROM envelopes ORDER BY id"),
      deliveries: ids("SELECT envelope_id AS id FROM deliveries ORDER BY seq"),
      pending: ids("SELECT request_id AS id FROM pending_requests ORDER BY request_id"),
    };
  } finally {
    db.close();
  }
}

Deno.test("group undo: refused accepts leave no rows, with or without a savepoint", async () => {
  await withStore(async (store, path) => {
    const request = (n: string) => ({ pending: { from: "@alice/a", to: "@bob/b", request_id: n } });
    const outcomes = await Promise.all([
      accept(store, "msg_1"),
      accept(store, "msg_2", {}, true), // undone by deleting its rows
      accept(store, "msg_3", request("req_3"), true), // an effect: undone by its savepoint
      accept(store, "msg_4", request("req_4")),
      accept(store, "msg_5"),
    ]);
    assertEquals(outcomes, ["accepted", "refused", "refused", "accepted", "accepted"]);
    assertEquals(stored(path), {
      envelopes: ["msg_1", "msg_4", "msg_5"],
      deliveries: ["msg_1", "msg_4", "msg_5"],
      pending: ["req_4"],
    });
    // A refused id is not taken: sent again, it is accepted.
    assertEquals(await accept(store, "msg_2"), "accepted");
    assertEquals(stored(path).envelopes, ["msg_1", "msg_2", "msg_4", "msg_5"]);
  });
});

Deno.test("group undo: when undoing fails, the whole group is refused and nothing is stored", async () => {
  await withStore(async (store, path) => {
    // Another connection makes deleting msg_2's envelope fail (as an I/O error might).
    const other = new DatabaseSync(path);
    other.exec(`CREATE TRIGGER no_undo BEFORE DELETE ON envelopes WHEN OLD.id = 'msg_2'
      BEGIN SELECT RAISE(ABORT, 'cannot delete msg_2'); END`);
    other.close();
    const acked = store.ackDelivery("bob", 999, 2_000); // an ack in the same COMMIT
    const outcomes = await Promise.all([
      accept(store, "msg_1"),
      accept(store, "msg_2", {}, true),
      accept(store, "msg_3"),
    ]);
    // msg_1 was fine when it ran, but its group could not commit; msg_3 did not run in it.
    assertEquals(outcomes, ["failed", "refused", "refused"]);

    assert(await acked.then(() => false, () => true), "the ack of the broken group failed");
    assertEquals(stored(path), { envelopes: [], deliveries: [], pending: [] });
    // The next group starts over.
    assertEquals(await accept(store, "msg_1"), "accepted");
    assertEquals(stored(path).envelopes, ["msg_1"]);
  });
});
