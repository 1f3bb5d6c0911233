/**
 * kill -9 mid-transfer of the relay and of the receiving daemon (issue 16), with every party a
 * real process (tests/e2e/faults: `taskferry relay`, `taskferry client` ×2). Each time the
 * killed process is started again on the same home, port and database, and the file arrives at
 * bob's daemon once (one inbox item, one file row) and byte-identical.
 * (The sending daemon's kill is tests/client/files_kill_test.ts.)
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ALICE, BOB, FaultWorld, readDb } from "../e2e/faults/world.ts";
import { until } from "../e2e/faults/procs.ts";

const MB = 1024 * 1024;
const CHUNKS = 64;

/** A CHUNKS-MiB file whose every MiB differs (a moved or repeated chunk would not verify). */
async function patterned(dir: string): Promise<{ path: string; sha256: string }> {
  const path = join(dir, "big.bin");
  const block = new Uint8Array(MB).map((_, i) => (i * 31) & 0xff);
  const hash = createHash("sha256");
  using out = await Deno.open(path, { write: true, createNew: true });
  for (let m = 0; m < CHUNKS; m++) {
    new DataView(block.buffer).setUint32(0, m);
    hash.update(block);
    let at = 0;
    while (at < MB) at += await out.write(block.subarray(at));
  }
  return { path, sha256: hash.digest("hex") };
}

/** The file row(s) of `messageId` in a daemon's database: state and chunks done. */
function fileRows(dbPath: string, messageId: string) {
  return readDb(
    dbPath,
    (db) =>
      db.prepare("SELECT blob_id, state, done_chunks FROM files WHERE message_id = ?")
        .all(messageId) as { blob_id: string; state: string; done_chunks: number }[],
  );
}

/**
 * Starts the world, posts the file to alice's daemon (POST /v1/files: the daemons' files root is
 * the user's home, not the temp dir) and sends it; `killWhile` kills one process mid-transfer.
 */
async function killMidTransfer(
  name: string,
  killWhile: (w: FaultWorld, messageId: string) => Promise<string>,
) {
  const w = await FaultWorld.start({ name });
  try {
    const file = await patterned(w.root);
    const posted = await w.alice.api.postFile("big.bin", (await Deno.open(file.path)).readable);
    const sent = await w.alice.api.send({
      from: ALICE,
      to: BOB,
      files: [{ file_id: posted.file_id }],
    });
    const id = sent.message.id;
    const what = await killWhile(w, id);

    const ready = await until("bob's file ready", () => {
      const rows = fileRows(w.bob.dbPath, id);
      return rows[0]?.state === "ready" ? rows : null;
    }, 30_000).catch(async (err) => {
      throw new Error(`${err}\n${await w.logs()}`);
    });
    assertEquals(ready.length, 1, "one file row at the receiver");
    const res = await w.bob.api.downloadFile(ready[0]!.blob_id);
    const h = createHash("sha256");
    for await (const piece of res.body!) h.update(piece);
    assertEquals(h.digest("hex"), file.sha256, "byte-identical");
    const items = (await w.bob.api.inbox({ agent: BOB, after: w.cursor })).items;
    assertEquals(items.filter((m) => m.id === id).length, 1, "delivered once");
    console.log(what);
  } finally {
    await w.close();
  }
}

Deno.test({
  name: "files: kill -9 of the relay mid-transfer; both daemons resume, the file arrives once",
  sanitizeResources: false,
  async fn() {
    await killMidTransfer("files-relay", async (w, id) => {
      // Mid-upload: alice has some chunks on the relay, not all.
      const before = await until(
        "the upload under way",
        () => {
          const done = fileRows(w.alice.dbPath, id)[0]?.done_chunks ?? 0;
          return done >= 2 ? done : null;
        },
        30_000,
        5,
      );
      await w.relay.kill9();
      const at = fileRows(w.alice.dbPath, id)[0]!;
      assert(at.done_chunks < CHUNKS, `the upload finished before the kill (${at.done_chunks})`);
      assertEquals(fileRows(w.bob.dbPath, id), [], "nothing at bob before the envelope left");
      await w.relay.up();
      return `relay killed with ${before}-${at.done_chunks} of ${CHUNKS} chunks uploaded`;
    });
  },
});

Deno.test({
  name: "files: kill -9 of the receiving daemon mid-download; it resumes, the file arrives once",
  sanitizeResources: false,
  async fn() {
    await killMidTransfer("files-receiver", async (w, id) => {
      const before = await until(
        "bob's download under way",
        () => {
          const row = fileRows(w.bob.dbPath, id)[0];
          return row && row.done_chunks >= 2 ? row.done_chunks : null;
        },
        30_000,
        5,
      );
      await w.bob.kill9();
      const at = fileRows(w.bob.dbPath, id)[0]!;
      assertEquals(at.state, "pending", "killed before the download finished");
      await w.bob.up();
      return `receiver killed with ${at.done_chunks} of ${CHUNKS} chunks downloaded (${before}+)`;
    });
  },
});
