/**
 * The SQLite relay caches client, agent and link rows (lib/relay/store/row_cache.ts). A revoke,
 * a token rotation, an agent's new keys or a link's new permissions must still take effect at once — also when another
 * process writes them (the CLI on the same database file) — for the next hello and the next
 * frame, not only at the periodic credential check (set to an hour here so it cannot help).
 */
import { assert, assertEquals } from "../assert.ts";
import {
  CLOSE_CODES,
  DEFAULT_PERMISSIONS,
  encodeBase64Url,
  generateAgentKeys,
} from "../../lib/protocol/mod.ts";
import { hashToken, openSqliteRelayStore } from "../../lib/relay/mod.ts";
import { connectedPair, RawSocket, seal, type TestRelay, withRelay } from "./sim.ts";

const NO_PERIODIC_CHECK = { credentialCheckMs: 3_600_000 };

/** A second connection to the relay's database: what another process's writes look like. */
async function otherProcess<T>(
  relay: TestRelay,
  fn: (store: ReturnType<typeof openSqliteRelayStore>) => Promise<T>,
) {
  const store = openSqliteRelayStore(relay.dbPath, { checkpoint: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A later turn of the event loop (the cache looks at `data_version` once per turn). */
const nextTurn = () => new Promise((r) => setTimeout(r, 0));

Deno.test("cache: a revoke by another process (the CLI) ends the session at the next frame", async () => {
  await withRelay(NO_PERIODIC_CHECK, async (relay) => {
    const { alice, bob, a } = await connectedPair(relay);
    const warm = await a.send(
      await seal(alice, [bob], "message", { text: "n1" }, { device_id: a.deviceId }),
    );
    assertEquals(warm.type, "accepted");
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "relay", "revoke-client", "alice", "--db", relay.dbPath],
      env: { TASKFERRY_LOG_LEVEL: "error", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(cli.code, 0, new TextDecoder().decode(cli.stderr));
    const env = await seal(alice, [bob], "message", { text: "n2" }, { device_id: a.deviceId });
    const answer = await a.send(env);
    assert(answer.type === "error", JSON.stringify(answer));
    assertEquals(answer.code, "client_revoked");
    assertEquals((await a.closed).code, CLOSE_CODES.unauthorized);
    assertEquals(await relay.relay.store.envelopeExists(env.id), false);
  });
});

Deno.test("cache: a token rotated by another connection refuses the next frame and hello", async () => {
  await withRelay(NO_PERIODIC_CHECK, async (relay) => {
    const { alice, bob, a, aliceToken } = await connectedPair(relay);
    assertEquals(
      (await a.send(await seal(alice, [bob], "message", { text: "n1" }, { device_id: a.deviceId })))
        .type,
      "accepted",
    );
    const stats = relay.relay.store as unknown as { cacheStats: { hits: number } };
    assert(stats.cacheStats.hits > 0, "the client row was served from the cache");
    await otherProcess(relay, async (s) => {
      assert(await s.setClientToken("alice", await hashToken("tfr.alice.rotated")));
    });
    await nextTurn();
    const answer = await a.send(
      await seal(alice, [bob], "message", { text: "n2" }, { device_id: a.deviceId }),
    );
    assert(answer.type === "error");
    assertEquals(answer.code, "unauthorized");
    assertEquals((await a.closed).code, CLOSE_CODES.unauthorized);
    // A new hello with the old token is refused too.
    const ws = new RawSocket(relay);
    assert(await ws.opened);
    ws.send({ type: "hello", client_id: "alice", token: aliceToken, device_id: a.deviceId });
    assertEquals((await ws.closed).code, CLOSE_CODES.unauthorized);
    assertEquals(ws.frames[0]?.code, "unauthorized");
  });
});

Deno.test("cache: an agent re-keyed by another connection is verified with its new key at once", async () => {
  await withRelay(NO_PERIODIC_CHECK, async (relay) => {
    const { alice, bob, a } = await connectedPair(relay);
    assertEquals(
      (await a.send(await seal(alice, [bob], "message", { text: "n1" }, { device_id: a.deviceId })))
        .type,
      "accepted",
    );
    const keys = await generateAgentKeys();
    await otherProcess(relay, async (s) => {
      const record = (await s.getAgent(alice.handle))!;
      await s.putAgent({
        ...record,
        signing_public_key: encodeBase64Url(keys.signing.publicKey),
        encryption_public_key: encodeBase64Url(keys.encryption.publicKey),
        updated_at: Date.now(),
      });
    });
    await nextTurn();
    const old = await a.send(
      await seal(alice, [bob], "message", { text: "n2" }, { device_id: a.deviceId }),
    );
    assert(old.type === "error");
    assertEquals(old.code, "bad_signature");
    const rekeyed = { handle: alice.handle, keys };
    const fresh = await a.send(
      await seal(rekeyed, [bob], "message", { text: "n3" }, { device_id: a.deviceId }),
    );
    assertEquals(fresh.type, "accepted", JSON.stringify(fresh));
  });
});

Deno.test("cache: the relay's own writes are seen in the same turn", async () => {
  await withRelay(NO_PERIODIC_CHECK, async (relay) => {
    const store = relay.relay.store;
    const token = await relay.addClient("carol");
    assertEquals((await store.getClient("carol"))?.revoked_at, null);
    assertEquals((await store.getClient("carol"))?.revoked_at, null); // cached now
    assert(await store.revokeClient("carol", Date.now()));
    assert((await store.getClient("carol"))?.revoked_at !== null);
    assertEquals(await store.getAgent("@carol/x"), null); // a miss is cached too
    await store.putAgent({
      handle: "@carol/x",
      client_id: "carol",
      signing_public_key: "a",
      encryption_public_key: "b",
      profile: {},
      public: false,
      created_at: 1,
      updated_at: 1,
    });
    assertEquals((await store.getAgent("@carol/x"))?.signing_public_key, "a");
    void token;
  });
});

Deno.test("cache: link permissions changed by another connection apply to the next frame", async () => {
  await withRelay(NO_PERIODIC_CHECK, async (relay) => {
    const { alice, bob, a } = await connectedPair(relay);
    const first = await a.send(
      await seal(alice, [bob], "message", { text: "n1" }, { device_id: a.deviceId }),
    );
    assertEquals(first.type, "accepted"); // the link is cached now
    await otherProcess(relay, async (s) => {
      const denied = { ...DEFAULT_PERMISSIONS, can_message: false };
      assert(await s.setLinkPermissions(alice.handle, bob.handle, denied));
    });
    await nextTurn();
    const next = await a.send(
      await seal(alice, [bob], "message", { text: "n2" }, { device_id: a.deviceId }),
    );
    assert(next.type === "error", JSON.stringify(next));
    assertEquals(next.code, "permission_denied");
  });
});

Deno.test("cache: a link written in a transaction that is rolled back is not remembered", async () => {
  await withRelay(NO_PERIODIC_CHECK, async (relay) => {
    const store = relay.relay.store as ReturnType<typeof openSqliteRelayStore>;
    assertEquals(await store.getLink("@x/a", "@y/b"), null); // a cached miss
    await store.grouped(async (s) => {
      await s.queueEnvelope(
        {
          id: "msg_01JDQ7AAAAAAAAAAAAAAAAAAAA",
          sender_client: "x",
          from: "@x/a",
          to: ["@y/b"],
          type: "connection_accept",
          body: "{}",
          accepted_at: 1,
        },
        [],
        { connect: { a: "@x/a", b: "@y/b", permissions: { ...DEFAULT_PERMISSIONS } } },
      );
      assert(await s.getLink("@x/a", "@y/b")); // read (and cached) inside the savepoint
      throw new Error("refused after the write");
    }, () => {});
    assertEquals(await store.getLink("@x/a", "@y/b"), null);
  });
});
