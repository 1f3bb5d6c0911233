/**
 * Files end to end (design §12, issue 16): a real relay (chunk files on disk) and two daemons.
 * A file attached by path on alice's daemon is uploaded before its envelope, downloaded and
 * verified by bob's, and served by `GET /v1/files/{id}` byte for byte; the relay never holds
 * plaintext; a third client cannot download; an upload resumes after the sender restarts; a
 * flipped byte on the relay is quarantined at the receiver; bad paths and relay limits are
 * refused with their codes.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { checkAttachPath } from "../../lib/client/files/paths.ts";
import type { MessageView } from "../../lib/protocol/views.ts";
import { TaskferryError } from "../../lib/protocol/mod.ts";
import { ApiError } from "../../lib/sdk/mod.ts";
import { eventually, startWorld, type World } from "./world.ts";
import {
  fetchFile,
  markedFile,
  MARKER,
  MB,
  message,
  sendFiles,
  settled,
  sha256Of,
  walk,
} from "./files_helpers.ts";

async function withFilesWorld(
  fn: (w: World, dir: string) => Promise<void>,
  relayOptions: Parameters<typeof startWorld>[0] extends infer O
    ? O extends { relayOptions?: infer R } ? R : never
    : never = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "tf-files-" });
  const w = await startWorld({ filesRoot: dir, relayOptions });
  try {
    await fn(w, dir);
  } finally {
    await w.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** One transfer of `size` bytes, checked byte for byte (memory: files_memory_test.ts). */
async function transfer(size: number) {
  await withFilesWorld(async (w, dir) => {
    const path = await markedFile(dir, "big.bin", size);
    const want = await sha256Of((await Deno.open(path)).readable);
    const started = performance.now();
    const id = await sendFiles(w, [path]);
    const got = await w.bob.api.waitForInbox("@bob/writer", (m) => m.id === id, {
      timeoutMs: 60_000,
    });
    assertEquals(got.item.files?.[0]?.name, "big.bin");
    const m = await settled(w.bob, id, 120_000);
    const seconds = (performance.now() - started) / 1000;
    const file = m.files![0]!;
    assertEquals(file.state, "ready", file.error);
    assertEquals(file.size, size);
    assert(!("key" in (m.payload.files as Record<string, unknown>[])[0]!), "views hide the key");
    const res = await fetchFile(w.bob, file.id);
    assertEquals(res.status, 200);
    assertEquals(await sha256Of(res.body!), want, "byte-identical");
    console.log(
      `files: ${size / MB} MB end to end in ${seconds.toFixed(2)} s ` +
        `(${(size / MB / seconds).toFixed(1)} MB/s)`,
    );

    // The relay's files hold no plaintext.
    for await (const p of walk(join(w.relay.dir))) {
      const bytes = await Deno.readFile(p);
      const text = new TextDecoder("latin1").decode(bytes);
      assert(!text.includes(MARKER), `plaintext in relay file ${p}`);
    }
    // A third client cannot download the blob.
    const carol = await w.relay.addClient("carol");
    const denied = await fetch(`${w.relay.url}/v1/blobs/${file.id}/chunks/0`, {
      headers: { authorization: `Bearer ${carol}` },
    });
    assertEquals(denied.status, 403);
    assertEquals((await denied.json()).error.code, "blob_access_denied");
  });
}

Deno.test("files: 20 MB from alice's agent to bob's, verified, no plaintext on the relay", () =>
  transfer(20 * MB));

Deno.test("files: the sender restarts mid-upload; the upload resumes and the file arrives once", async () => {
  await withFilesWorld(async (w, dir) => {
    const path = await markedFile(dir, "resume.bin", 40 * MB);
    const want = await sha256Of((await Deno.open(path)).readable);
    const id = await sendFiles(w, [path]);
    const db = () => w.alice.running.daemon.db;
    await eventually(() => {
      const row = db().prepare("SELECT done_chunks FROM files WHERE message_id = ?").get(id) as
        | { done_chunks: number }
        | undefined;
      return Promise.resolve((row?.done_chunks ?? 0) >= 3);
    }, 30_000);
    await w.alice.close();
    w.alice = await w.alice.start();
    // The restarted daemon resumed past the chunks the relay already held.
    const resumed = await eventually(() =>
      Promise.resolve(
        w.alice.running.daemon.events.since(0).find((e) =>
          e.type === "file" && e.data.state === "uploading"
        ),
      )
    );
    assert((resumed.data.from_chunk as number) >= 3, `resumed at ${resumed.data.from_chunk}`);
    const m = await settled(w.bob, id);
    assertEquals(m.files![0]!.state, "ready");
    assertEquals(await sha256Of((await fetchFile(w.bob, m.files![0]!.id)).body!), want);
    const inbox = await w.bob.api.request<{ items: MessageView[] }>("GET", "/v1/inbox", undefined, {
      agent: "@bob/writer",
    });
    assertEquals(inbox.items.filter((i) => i.id === id).length, 1, "delivered once");
  });
});

Deno.test("files: a flipped byte in a stored relay chunk is quarantined, not delivered", async () => {
  await withFilesWorld(async (w, dir) => {
    await w.bob.close();
    const path = await markedFile(dir, "flip.bin", 3 * MB);
    const id = await sendFiles(w, [path]);
    await eventually(async () => (await message(w.alice, id)).state === "accepted");
    const blobId = (await message(w.alice, id)).files![0]!.id;
    const chunk = join(w.relay.dir, "blobs", "chunks", blobId, "1");
    const bytes = await Deno.readFile(chunk);
    bytes[100]! ^= 0x01;
    await Deno.writeFile(chunk, bytes);
    w.bob = await w.bob.start();
    const m = await settled(w.bob, id);
    const file = m.files![0]!;
    assertEquals(file.state, "failed");
    assert(file.error?.startsWith("blob_corrupt"), file.error);
    const res = await fetchFile(w.bob, blobId);
    assertEquals(res.status, 409);
    assertEquals((await res.json()).error.code, "file_not_ready");
    // Nothing of it is published under the files directory, only in quarantine.
    for await (const p of walk(join(w.bob.home, "files"))) {
      assert(p.includes("/quarantine/"), `unexpected file ${p}`);
    }
  });
});

Deno.test("files: paths outside the rule are refused with their own codes, nothing sent", async () => {
  await withFilesWorld(async (w, dir) => {
    const refused = async (path: string, code: string) => {
      const err = await sendFiles(w, [path]).then(() => null, (e) => e);
      assert(err instanceof ApiError, `${path} was accepted`);
      assertEquals(err.code, code, path);
    };
    await Deno.mkdir(join(dir, "sub"));
    await refused(join(dir, "sub"), "file_not_regular");
    await refused(`${dir}/sub/../x.txt`, "file_path_refused");
    await refused("relative.txt", "file_path_refused");
    await refused("/etc/hostname", "file_path_refused");
    await refused(join(dir, "missing.txt"), "file_not_found");
    await Deno.writeTextFile(join(dir, "bad\u0001name"), "x");
    await refused(join(dir, "bad\u0001name"), "invalid_file_name");
    const device = await checkAttachPath("/", "/dev/null").then(() => null, (e) => e);
    assert(device instanceof TaskferryError);
    assertEquals(device.code, "file_not_regular");
    // Without a home (a service user) and without --files-root, no path is attachable.
    const rootless = await checkAttachPath(null, join(dir, "sub")).then(() => null, (e) => e);
    assertEquals((rootless as TaskferryError).code, "file_path_refused");
    const out = await w.alice.api.request<{ messages: MessageView[] }>("GET", "/v1/messages");
    assertEquals(out.messages.filter((m) => m.type === "message").length, 0);
  });
});

Deno.test("files: size and quota refusals reach the sender as the message's failure", async () => {
  await withFilesWorld(async (w, dir) => {
    const big = await markedFile(dir, "big.bin", 3 * MB);
    const tooBig = await sendFiles(w, [big]);
    const failed = await eventually(async () => {
      const m = await message(w.alice, tooBig);
      return m.state === "failed" ? m : null;
    });
    assert(failed.state_reason?.startsWith("blob_too_large"), failed.state_reason);
    assertEquals(failed.files![0]!.state, "failed");
    const half = await markedFile(dir, "half.bin", 1.5 * MB);
    const first = await sendFiles(w, [half]);
    await eventually(async () => (await message(w.alice, first)).state === "delivered");
    const other = await markedFile(dir, "other.bin", 1.5 * MB + 7);
    const second = await sendFiles(w, [other]);
    const over = await eventually(async () => {
      const m = await message(w.alice, second);
      return m.state === "failed" ? m : null;
    });
    assert(over.state_reason?.startsWith("quota_exceeded"), over.state_reason);
    // A task request whose file is refused ends the task, with the refusal in its timeline.
    const { task } = await w.alice.api.createTask({
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Too big",
      instructions: "-",
      files: [{ path: big }],
    });
    const ended = await eventually(async () => {
      const d = await w.alice.api.task(task.id);
      return d.task.state === "cancelled" ? d : null;
    });
    assert(ended.events.some((e) => e.type === "send_failed"), "send_failed in the timeline");
  }, { maxFileBytes: 2 * MB, blobQuotaBytes: 3 * MB });
});

Deno.test("files: the receiver restarts mid-download; it resumes after the verified chunks", async () => {
  await withFilesWorld(async (w, dir) => {
    const path = await markedFile(dir, "down.bin", 40 * MB);
    const want = await sha256Of((await Deno.open(path)).readable);
    const id = await sendFiles(w, [path]);
    const db = () => w.bob.running.daemon.db;
    await eventually(() => {
      const row = db().prepare("SELECT done_chunks FROM files WHERE message_id = ?").get(id) as
        | { done_chunks: number }
        | undefined;
      return Promise.resolve((row?.done_chunks ?? 0) >= 3);
    }, 30_000);
    w.bob = await w.bob.restart();
    const resumed = await eventually(() =>
      Promise.resolve(
        w.bob.running.daemon.events.since(0).find((e) =>
          e.type === "file" && e.data.state === "downloading"
        ),
      )
    );
    assert((resumed.data.from_chunk as number) >= 3, `resumed at ${resumed.data.from_chunk}`);
    const m = await settled(w.bob, id);
    assertEquals(m.files![0]!.state, "ready");
    assertEquals(await sha256Of((await fetchFile(w.bob, m.files![0]!.id)).body!), want);
  });
});

Deno.test("files: POST /v1/files, then attach it by file_id to a task", async () => {
  await withFilesWorld(async (w) => {
    const posted = await w.alice.api.postFile("notes.md", "# notes\n", "text/markdown");
    assertEquals([posted.size, posted.media_type], [8, "text/markdown"]);
    const { task } = await w.alice.api.createTask({
      from: "@alice/requester",
      to: "@bob/writer",
      title: "Read",
      instructions: "the notes",
      files: [{ file_id: posted.file_id, name: "brief.md" }],
    });
    const seen = await eventually(async () => {
      const t = (await w.bob.api.task(task.id)).task;
      return t.files?.[0]?.state === "ready" ? t : null;
    });
    assertEquals(seen.files![0]!.name, "brief.md");
    const res = await w.bob.api.downloadFile(seen.files![0]!.id);
    assertEquals(res.headers.get("content-disposition"), "attachment; filename*=UTF-8''brief.md");
    assertEquals(await res.text(), "# notes\n");
    // An unknown file id is refused before anything is sent.
    const err = await w.alice.api.send({
      from: "@alice/requester",
      to: "@bob/writer",
      files: [{ file_id: "blob_01M800TAA76RWNMDMVRFVC5GA9" }],
    }).then(() => null, (e) => e);
    assertEquals((err as ApiError).code, "file_not_found");
  });
});

Deno.test("files: the relay restarts mid-transfer; both daemons resume and the file arrives", async () => {
  await withFilesWorld(async (w, dir) => {
    const path = await markedFile(dir, "relay.bin", 40 * MB);
    const want = await sha256Of((await Deno.open(path)).readable);
    const id = await sendFiles(w, [path]);
    await eventually(() => {
      const row = w.alice.running.daemon.db.prepare(
        "SELECT done_chunks FROM files WHERE message_id = ?",
      ).get(id) as { done_chunks: number } | undefined;
      return Promise.resolve((row?.done_chunks ?? 0) >= 3);
    }, 30_000);
    await w.relay.close();
    await w.startRelay();
    const m = await settled(w.bob, id);
    assertEquals(m.files![0]!.state, "ready", m.files![0]!.error);
    assertEquals(await sha256Of((await fetchFile(w.bob, m.files![0]!.id)).body!), want);
  });
});
