/**
 * The relay never sees plaintext (design §1, §5): unique markers sealed into payloads must not
 * appear in the relay's database files in any form. Plus the operator endpoints /health and
 * /metrics.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  encodeBase64Url,
  newId,
  openEnvelope,
  parseEnvelope,
  randomBytes,
} from "../../lib/protocol/mod.ts";
import {
  api,
  connectedPair,
  seal,
  type SimAgent,
  takeDeliveries,
  type TestRelay,
  withRelay,
} from "./sim.ts";

const encoder = new TextEncoder();

function marker(label: string): string {
  return `TFMARK-${label}-${
    Array.from(randomBytes(12), (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * Strings that would betray `text` in a file: the text itself, its JSON-escaped form, and a run
 * of its base64 / base64url encoding at each of the three byte alignments it could have inside
 * a longer plaintext.
 */
function forms(text: string): string[] {
  const out = new Set([text, JSON.stringify(text).slice(1, -1)]);
  for (let k = 0; k < 3; k++) {
    const bytes = encoder.encode("x".repeat(k) + text);
    const start = Math.ceil(k / 3) * 4; // first base64 group made only of marker bytes
    for (const enc of [base64(bytes), encodeBase64Url(bytes)]) {
      out.add(enc.slice(start, start + 24));
    }
  }
  return [...out];
}

async function readIfExists(path: string): Promise<string> {
  try {
    // latin1 keeps every byte as one char, so ASCII searches are exact.
    return new TextDecoder("latin1").decode(await Deno.readFile(path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "";
    throw err;
  }
}

/** The relay's database files (main, WAL, shared memory) as searchable text. */
async function dbFiles(relay: TestRelay): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    files[`relay.db${suffix}`] = await readIfExists(relay.dbPath + suffix);
  }
  return files;
}

function assertAbsent(files: Record<string, string>, markers: string[], when: string) {
  for (const m of markers) {
    for (const form of forms(m)) {
      for (const [name, text] of Object.entries(files)) {
        assert(!text.includes(form), `${when}: ${name} contains ${form} (from ${m})`);
      }
    }
  }
}

async function open(env: unknown, to: SimAgent, from: SimAgent) {
  return await openEnvelope(
    parseEnvelope(env),
    to.handle,
    {
      encryptionPrivateKey: to.keys.encryption.privateKey,
      encryptionPublicKey: to.keys.encryption.publicKey,
    },
    from.keys.signing.publicKey,
  );
}

Deno.test("privacy: sealed plaintext never reaches relay.db or its WAL", async () => {
  await withRelay({}, async (relay) => {
    const c = await connectedPair(relay, { autoAck: false });
    const m = {
      text: marker("text"),
      title: marker("title"),
      instructions: marker("instr"),
      artifact: marker("artifact"),
    };
    const markers = Object.values(m);
    const message = await seal(c.alice, [c.bob], "message", { text: `hello ${m.text}` }, {
      device_id: c.a.deviceId,
    });
    const taskId = newId("task");
    const request = await seal(c.alice, [c.bob], "task_request", {
      title: m.title,
      instructions: `please ${m.instructions} thanks`,
    }, { device_id: c.a.deviceId, task_id: taskId });
    for (const env of [message, request]) assertEquals((await c.a.send(env)).type, "accepted");
    const accept = await seal(c.bob, [c.alice], "task_accept", {}, {
      device_id: c.b.deviceId,
      task_id: taskId,
    });
    const artifact = await seal(c.bob, [c.alice], "artifact_submit", {
      version: 1,
      content: m.artifact,
    }, { device_id: c.b.deviceId, task_id: taskId });
    for (const env of [accept, artifact]) assertEquals((await c.b.send(env)).type, "accepted");

    // Delivered intact: the recipients can read the markers.
    const toBob = await takeDeliveries(c.b, 3, { ack: true });
    assertEquals(toBob.slice(1).map((d) => d.id), [message.id, request.id]);
    const toAlice = await takeDeliveries(c.a, 3, { ack: true });
    assertEquals(toAlice.slice(1).map((d) => d.id), [accept.id, artifact.id]);
    assertEquals((await open(message, c.bob, c.alice) as { text: string }).text, `hello ${m.text}`);
    assertEquals((await open(request, c.bob, c.alice) as { title: string }).title, m.title);
    assertEquals((await open(artifact, c.alice, c.bob) as { content: string }).content, m.artifact);

    // While the relay runs (recent writes live in the WAL)...
    const live = await dbFiles(relay);
    const liveAll = Object.values(live).join("");
    assert(liveAll.includes(message.id), "sanity: the envelope is in the files we read");
    assert(liveAll.includes(message.payload.ciphertext.slice(0, 40)), "ciphertext is stored");
    assertAbsent(live, markers, "running");

    // ...and after a clean shutdown (WAL checkpointed into the main file).
    await relay.close();
    const closed = await dbFiles(relay);
    assert(closed["relay.db"]!.includes(message.id), "sanity: the main file holds the envelope");
    assertAbsent(closed, markers, "closed");
  });
});

Deno.test("privacy: the marker search finds base64/base64url forms at any alignment", () => {
  const m = marker("self");
  for (let pre = 0; pre < 6; pre++) {
    const plaintext = encoder.encode(JSON.stringify({ text: `${"y".repeat(pre)}${m}!` }));
    for (const encoded of [base64(plaintext), encodeBase64Url(plaintext)]) {
      assert(forms(m).some((f) => encoded.includes(f)), `missed at offset ${pre}`);
    }
  }
  assert(!forms(m).some((f) => base64(encoder.encode(marker("other"))).includes(f)));
});

Deno.test("health: GET /health answers {status: ok} with gauges", async () => {
  await withRelay({}, async (relay) => {
    const res = await api(relay, "GET", "/health");
    assertEquals(res.status, 200);
    assertEquals(res.body.status, "ok");
    assertEquals(typeof res.body.version, "string");
    assertEquals(res.body.connected_clients, 0);
    assertEquals(res.body.queue_depth, 0);
    await connectedPair(relay);
    const after = await api(relay, "GET", "/health");
    assertEquals(after.body.status, "ok");
    assertEquals(after.body.connected_clients, 2);
  });
});

Deno.test("metrics: Prometheus text with accepted total and refusals labelled by code", async () => {
  await withRelay({}, async (relay) => {
    const c = await connectedPair(relay);
    const env = await seal(c.alice, [c.bob], "message", { text: "x" }, { device_id: c.a.deviceId });
    const tampered = { ...env, created_at: new Date(Date.parse(env.created_at) + 1).toISOString() };
    assertEquals((await c.a.send(tampered)).type, "error");
    assertEquals((await c.a.send(env)).type, "accepted");
    assertEquals((await c.a.send(env)).type, "error");
    const [first] = await takeDeliveries(c.b, 1, { ack: true });
    await c.a.next((f) => f.type === "receipt" && f.receipt.id === first!.id);

    const res = await api(relay, "GET", "/metrics");
    assertEquals(res.status, 200);
    assert(res.headers.get("content-type")!.startsWith("text/plain"));
    const lines = res.text.trimEnd().split("\n");
    const samples = new Map<string, number>();
    for (const line of lines) {
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
      const match = /^([a-z_]+(?:\{[a-z_]+="[^"]*"\})?) (-?[0-9.]+(?:e[+-]?\d+)?)$/.exec(line);
      assert(match, `not a Prometheus sample line: ${line}`);
      samples.set(match[1]!, Number(match[2]));
    }
    // connection_request + connection_accept + the message.
    assertEquals(samples.get("taskferry_envelopes_accepted_total"), 3);
    assertEquals(samples.get(`taskferry_envelopes_refused_total{code="bad_signature"}`), 1);
    assertEquals(samples.get(`taskferry_envelopes_refused_total{code="duplicate_envelope"}`), 1);
    assertEquals(samples.get("taskferry_envelopes_delivered_total"), 1);
    assertEquals(samples.get("taskferry_connected_clients"), 2);
    assert(samples.has("taskferry_queue_depth"));
    assertEquals(samples.get("taskferry_delivery_latency_ms_count"), 1);
    assert(res.text.includes("# TYPE taskferry_envelopes_refused_total counter"));
  });
});
