/**
 * The daemon's history store and clock, in process (no sockets): the migration that keeps a
 * delivery state's code apart from its reason, and deadlines driven by an injected clock
 * through the loopback API's routes.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  CLIENT_MIGRATIONS,
  Daemon,
  daemonApp,
  DaemonStore,
  expireDue,
  verifyChain,
} from "../../lib/client/mod.ts";
import { messageView } from "../../lib/client/views.ts";
import { DEFAULT_PERMISSIONS } from "../../lib/protocol/mod.ts";
import { openDatabase, run } from "../../lib/store/mod.ts";

const ROWS: [id: string, direction: string, state: string, reason: string | null][] = [
  ["msg_a", "out", "failed", "permission_denied: task_request not allowed: from @a/x"],
  ["msg_b", "in", "rejected", "task_role: not a party"],
  ["msg_c", "out", "failed", "the peer's own words: no code here"],
  ["msg_d", "out", "delivered", null],
];

Deno.test("store: migration 2 splits stored 'code: message' states; views read as before", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-store-" });
  const path = `${dir}/client.db`;
  try {
    const v1 = openDatabase(path, CLIENT_MIGRATIONS.slice(0, 1));
    for (const [id, direction, state, reason] of ROWS) {
      run(
        v1,
        `INSERT INTO messages (id, agent, direction, type, from_handle, to_handles, created_at,
           payload, envelope, state, state_reason, updated_at)
         VALUES (?, '@a/x', ?, 'message', '@a/x', '["@b/y"]', 't', '{}', '{}', ?, ?, 't')`,
        id,
        direction,
        state,
        reason,
      );
    }
    v1.close();

    const store = DaemonStore.open(path);
    try {
      const a = store.messages.of("msg_a", "@a/x")!;
      assertEquals([a.state_code, a.state_reason], [
        "permission_denied",
        "task_request not allowed: from @a/x",
      ]);
      const b = store.messages.of("msg_b", "@a/x")!;
      assertEquals([b.state_code, b.state_reason], ["task_role", "not a party"]);
      const c = store.messages.of("msg_c", "@a/x")!;
      assertEquals([c.state_code, c.state_reason], [null, "the peer's own words: no code here"]);
      const d = store.messages.of("msg_d", "@a/x")!;
      assertEquals([d.state_code, d.state_reason], [null, null]);
      for (const [id, , , reason] of ROWS) {
        assertEquals(messageView(store.messages.of(id, "@a/x")!).state_reason, reason ?? undefined);
      }
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("daemon: an injected clock stamps tasks and drives expiry (routes in process)", async () => {
  let now = Date.parse("2031-03-01T10:00:00.000Z");
  const db = openDatabase(":memory:", CLIENT_MIGRATIONS);
  const d = new Daemon(db, {
    clientId: "solo",
    deviceId: "dev_01M800TA6EF950VFRHF00M6645",
    relayUrl: undefined,
    relayToken: undefined,
    localApiToken: "tfl_solo",
  }, { now: () => now });
  try {
    const app = daemonApp(d);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await app.request(path, {
        method,
        headers: {
          host: "127.0.0.1:4318",
          authorization: "Bearer tfl_solo",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json() };
    };
    for (const handle of ["@solo/a", "@solo/b"]) {
      assertEquals((await call("POST", "/v1/agents", { handle })).status, 201);
    }
    // No relay here: write the accepted connection the handshake would have produced.
    for (const [agent, peer] of [["@solo/a", "@solo/b"], ["@solo/b", "@solo/a"]] as const) {
      d.store.connections.upsert({
        agent,
        peer,
        state: "connected",
        request_id: null,
        note: null,
        permissions: JSON.stringify(DEFAULT_PERMISSIONS),
        permissions_synced: 1,
        created_at: d.nowIso(),
        updated_at: d.nowIso(),
      });
    }

    const created = await call("POST", "/v1/tasks", {
      from: "@solo/a",
      to: "@solo/b",
      title: "Due at eleven",
      instructions: "The clock says when.",
      deadline: "2031-03-01T11:00:00.000Z",
    });
    assertEquals(created.status, 202, JSON.stringify(created.json));
    const id = created.json.task.id as string;
    assertEquals(created.json.task.created_at, "2031-03-01T10:00:00.000Z");

    expireDue(d); // 10:00 by the daemon's clock: not yet due
    assertEquals((await call("GET", `/v1/tasks/${id}`)).json.task.state, "requested");

    now += 2 * 3_600_000;
    const announced = d.events.waitFor(
      (e) => e.type === "task" && e.data.state === "expired",
      1000,
    );
    expireDue(d);
    assert(await announced, "the expiry is announced on the event bus");
    const detail = (await call("GET", `/v1/tasks/${id}`)).json;
    assertEquals(detail.task.state, "expired");
    assertEquals(detail.events.at(-1).type, "expire");
    assertEquals(detail.events.at(-1).at, "2031-03-01T12:00:00.000Z");
    assertEquals(verifyChain(d, id), null);
  } finally {
    await d.stop();
    db.close();
  }
});
