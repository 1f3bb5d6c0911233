/**
 * kill -9 of the sending daemon mid-upload (issue 16): alice's daemon runs as a real child
 * process (`taskferry client`), is SIGKILLed while its file is half on the relay, and started
 * again on the same home: the upload resumes at the first chunk the relay lacks, the envelope
 * leaves once, and bob's daemon gets the file byte for byte.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { TaskferryClient } from "../../lib/sdk/mod.ts";
import type { MessageView } from "../../lib/protocol/views.ts";
import { startTestRelay } from "../relay/sim.ts";
import { eventually, startTestDaemon } from "./world.ts";

const MB = 1024 * 1024;
const CHUNKS = 100;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function spawnAlice(home: string, relayUrl: string, token: string, port: number, root: string) {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? home,
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "info",
    TASKFERRY_LOG_FORMAT: "json",
  };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "client",
      "--home",
      home,
      "--client-id",
      "alice",
      "--relay-url",
      relayUrl,
      "--relay-token",
      token,
      "--addr",
      `127.0.0.1:${port}`,
      "--files-root",
      root,
    ],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("files: kill -9 of the sending daemon mid-upload; it resumes, the file arrives once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-files-kill-" });
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const bob = await startTestDaemon(relay, "bob", { filesRoot: dir });
  const home = join(dir, "alice-home");
  const token = await relay.addClient("alice");
  const port = freePort();
  let child = spawnAlice(home, relay.url, token, port, dir);
  let stderr = "";
  try {
    const url = `http://127.0.0.1:${port}`;
    const alice = new TaskferryClient({
      url,
      token: await eventually(() => Deno.readTextFile(join(home, "local-token")).catch(() => null)),
    });
    await eventually(() => alice.health().catch(() => null), 30_000);
    await alice.createAgent({ handle: "@alice/requester" });
    await bob.api.createAgent({ handle: "@bob/writer", public: true });
    await eventually(async () => (await alice.health()).relay.connected);
    await alice.connect({ from: "@alice/requester", to: "@bob/writer" });
    await bob.api.waitForInbox("@bob/writer", (m) => m.type === "connection_request");
    await bob.api.acceptConnection("@alice/requester");
    await alice.waitForInbox("@alice/requester", (m) => m.type === "connection_accept");

    const path = join(dir, "big.bin");
    // 100 MiB, each MiB different (a chunk moved or repeated would not verify).
    const block = new Uint8Array(MB).map((_, i) => (i * 31) & 0xff);
    const hash = createHash("sha256");
    {
      using out = await Deno.open(path, { write: true, createNew: true });
      for (let m = 0; m < CHUNKS; m++) {
        new DataView(block.buffer).setUint32(0, m);
        hash.update(block);
        let at = 0;
        while (at < MB) at += await out.write(block.subarray(at));
      }
    }
    const want = hash.digest("hex");
    const sent = await alice.send({
      from: "@alice/requester",
      to: "@bob/writer",
      files: [{ path }],
    });
    const blobId = (await alice.message(sent.message.id)).files![0]!.id;
    const chunkDir = join(relay.dir, "blobs", "chunks", blobId);
    // Committed chunks only: a chunk is written to `<index>.tmp-…` and renamed to `<index>`.
    const stored = async () => {
      try {
        const names = (await Array.fromAsync(Deno.readDir(chunkDir))).map((e) => e.name);
        return new Set(names.filter((n) => /^\d+$/.test(n)).map(Number));
      } catch {
        return new Set<number>();
      }
    };
    await eventually(async () => (await stored()).size >= 2, 30_000);
    child.kill("SIGKILL");
    await child.status;
    const held = await stored();
    const before = held.size;
    assert(before < CHUNKS, `the upload finished before the kill (${before} chunks)`);
    // Chunks go up TRANSFER_WINDOW at a time and may land out of order, so the relay can hold
    // chunks past a gap; the daemon must resume no earlier than the first chunk missing now
    // (chunks whose bodies had arrived may still land after the kill, never fewer).
    let gap = 0;
    while (held.has(gap)) gap++;

    child = spawnAlice(home, relay.url, token, port, dir);
    const bobView = await eventually(async () => {
      const item = (await bob.api.inbox({ agent: "@bob/writer" })).items.find((m) =>
        m.id === sent.message.id
      );
      const m = item && await bob.api.message(item.id) as MessageView;
      return m?.files?.[0]?.state === "ready" ? m : null;
    }, 60_000);
    const res = await bob.api.downloadFile(bobView.files![0]!.id);
    const h = createHash("sha256");
    for await (const piece of res.body!) h.update(piece);
    assertEquals(h.digest("hex"), want, "byte-identical");
    const items = (await bob.api.inbox({ agent: "@bob/writer" })).items;
    assertEquals(items.filter((m) => m.id === sent.message.id).length, 1, "delivered once");
    child.kill("SIGTERM");
    stderr = new TextDecoder().decode((await child.output()).stderr);
    const resumed = stderr.split("\n").filter((l) => l.includes('"uploading file"'))
      .map((l) => JSON.parse(l).from_chunk as number);
    assert(resumed.length >= 1, `no upload after the restart:\n${stderr}`);
    assert(
      resumed[0]! >= gap,
      `resumed at ${resumed[0]}, the relay held chunks 0–${gap - 1} (${before} in all)`,
    );
    console.log(
      `killed with ${before} of ${CHUNKS} chunks on the relay (first gap ${gap}); resumed at chunk ${
        resumed[0]
      }`,
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status.catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await bob.close();
    await Deno.remove(bob.home, { recursive: true }).catch(() => {});
    await relay.close();
    await Deno.remove(relay.dir, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
