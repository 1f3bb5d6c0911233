/** The Go TaskFerry's environment names as aliases (lib/cli/env_aliases.ts, go/client_tokens.ts). */
import { assert, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { relayTokenFor, relayUrlFromGo, withEnvAliases } from "../../lib/cli/env_aliases.ts";
import { applyGoClientTokens, parseClientTokens } from "../../lib/cli/go/client_tokens.ts";
import { UsageError } from "../../lib/cli/command.ts";
import { CLIENT_SETTINGS } from "../../lib/cli/client.ts";
import { RELAY_SETTINGS } from "../../lib/cli/relay.ts";
import { resolveSettings } from "../../lib/cli/settings.ts";
import { hashToken, openSqliteRelayStore, tokenClient } from "../../lib/relay/mod.ts";

/** Expects a {@link UsageError} whose message contains `text`. */
function throws(fn: () => unknown, text: string) {
  const err = assertThrows(fn, UsageError);
  //UsageError);
  assert(err.message.includes(text), `${err.message} lacks ${text}`);
}

/** Expects a rejection with a {@link UsageError} whose message contains `text`. */
async function rejects(fn: () => Promise<unknown>, text: string) {
  const err = await assertRejects(fn, UsageError);
  assert(err.message.includes(text), `${err.message} lacks ${text}`);
}

const CLIENT = new Set(CLIENT_SETTINGS.map((s) => s.env));

/** Runs `withEnvAliases` for the daemon's settings and collects the notices. */
function aliases(env: Record<string, string>) {
  const lines: string[] = [];
  const out = withEnvAliases(CLIENT, env, (l) => lines.push(l));
  return { env: out, lines };
}

Deno.test("go env: the Go README's client block resolves to our settings", () => {
  const goEnv = {
    TASKFERRY_CLIENT_ADDR: "127.0.0.1:4318",
    TASKFERRY_CLIENT_ID: "client_alice",
    TASKFERRY_DEVICE_ID: "device_alice",
    TASKFERRY_CLIENT_DB: ".taskferry/alice.db",
    TASKFERRY_RELAY_HTTP: "http://127.0.0.1:8080",
    TASKFERRY_RELAY_WS: "ws://127.0.0.1:8080/v1/ws",
    TASKFERRY_RELAY_TOKEN: "alice-relay-token",
    TASKFERRY_LOCAL_API_TOKEN: "alice-local-token",
  };
  const { env, lines } = aliases(goEnv);
  assertEquals(goEnv.TASKFERRY_CLIENT_ID, "client_alice", "the input is not changed");
  assertEquals(env.TASKFERRY_CLIENT_ID, "alice");
  assertEquals(env.TASKFERRY_RELAY_URL, "http://127.0.0.1:8080");
  assertEquals(env.TASKFERRY_DEVICE_ID, undefined, "device_alice is not a dev_<ULID>");
  assertEquals(tokenClient(relayTokenFor("alice", "alice-relay-token")), "alice");
  assert(lines.some((l) => /TASKFERRY_RELAY_HTTP is deprecated; use TASKFERRY_RELAY_URL/.test(l)));
  assert(lines.some((l) => /client_alice' is the Go spelling of 'alice'/.test(l)), lines.join());
  assert(lines.some((l) => /device_alice' ignored/.test(l)));
  for (const l of lines) assertEquals(l.includes("\n"), false, "one line each");
  const s = resolveSettings(CLIENT_SETTINGS, {}, goEnv, {});
  assertEquals(s["client-id"], "alice");
  assertEquals(s["relay-url"], "http://127.0.0.1:8080");
  assertEquals(s.db, ".taskferry/alice.db");
});

Deno.test("go env: the new name wins, and a WebSocket URL that is not the HTTP one is refused", () => {
  assertEquals(
    relayUrlFromGo("https://relay.example.com/", "wss://relay.example.com/v1/ws"),
    "https://relay.example.com",
  );
  assertEquals(
    relayUrlFromGo(undefined, "wss://relay.example.com/v1/ws"),
    "https://relay.example.com",
  );
  assertEquals(relayUrlFromGo(undefined, undefined), undefined);
  for (
    const ws of [
      "ws://relay.example.com/v1/ws",
      "wss://evil.example/v1/ws",
      "wss://relay.example.com/ws",
    ]
  ) {
    throws(
      () => relayUrlFromGo("https://relay.example.com", ws),
      "does not match",
    );
  }
  throws(() => relayUrlFromGo(undefined, "http://x/v1/ws"), "ws:// or wss://");
  const { env } = aliases({
    TASKFERRY_RELAY_URL: "https://new.example",
    TASKFERRY_RELAY_HTTP: "http://old.example",
    TASKFERRY_RELAY_WS: "ws://other.example/v1/ws",
  });
  assertEquals(env.TASKFERRY_RELAY_URL, "https://new.example");
  // The relay has no relay-URL setting: the client's Go names do not touch it.
  assertEquals(
    resolveSettings(RELAY_SETTINGS, {}, { TASKFERRY_RELAY_WS: "junk" }, {}).addr,
    "127.0.0.1:8080",
  );
});

Deno.test("go env: owner id and AGENTCHAT_ aliases, with one notice each", () => {
  assertEquals(aliases({ TASKFERRY_OWNER_ID: "alice" }).env.TASKFERRY_CLIENT_ID, "alice");
  assertEquals(
    aliases({ TASKFERRY_OWNER_ID: "alice", TASKFERRY_CLIENT_ID: "client_alice" }).env
      .TASKFERRY_CLIENT_ID,
    "alice",
  );
  throws(
    () => aliases({ TASKFERRY_OWNER_ID: "bob", TASKFERRY_CLIENT_ID: "client_alice" }),
    "different owners",
  );
  throws(() => aliases({ TASKFERRY_OWNER_ID: "Bob!" }), "TASKFERRY_OWNER_ID");
  const { env, lines } = aliases({
    AGENTCHAT_CLIENT_ADDR: "127.0.0.1:4400",
    AGENTCHAT_LOCAL_API_TOKEN: "t",
    TASKFERRY_LOCAL_API_TOKEN: "new",
  });
  assertEquals(env.TASKFERRY_CLIENT_ADDR, "127.0.0.1:4400");
  assertEquals(env.TASKFERRY_LOCAL_API_TOKEN, "new", "the new name wins");
  const relay = withEnvAliases(new Set(RELAY_SETTINGS.map((s) => s.env)), {
    AGENTCHAT_RELAY_ADDR: "127.0.0.1:9",
    AGENTCHAT_CLIENT_ID: "x",
  }, () => {});
  assertEquals([relay.TASKFERRY_RELAY_ADDR, relay.TASKFERRY_CLIENT_ID], ["127.0.0.1:9", undefined]);
  assert(
    lines.some((l) => l.includes("AGENTCHAT_CLIENT_ADDR is deprecated; use TASKFERRY_CLIENT_ADDR")),
  );
  // A token we issued passes through untouched; a Go secret becomes one for the right client.
  const ours = "tfr.alice." + "A".repeat(43);
  assertEquals(relayTokenFor("alice", ours), ours);
  assertEquals(tokenClient(relayTokenFor("team_name", "x")), "team_name");
});

Deno.test("go env: TASKFERRY_RELAY_CLIENT_TOKENS creates and updates hashed clients; a shared token is refused", async () => {
  assertEquals(parseClientTokens("client_alice=a-token, bob=b-token,"), [
    { clientId: "alice", token: "a-token" },
    { clientId: "bob", token: "b-token" },
  ]);
  for (
    const bad of [
      "alice",
      "=x",
      "Alice=x",
      "client_=x",
      "alice=",
      "alice=x,client_alice=y",
      `bob=tfr.alice.${"A".repeat(43)}`,
    ]
  ) {
    throws(() => parseClientTokens(bad), "TASKFERRY_RELAY_CLIENT_TOKENS");
  }
  const dir = await Deno.makeTempDir();
  const store = openSqliteRelayStore(`${dir}/relay.db`);
  try {
    const warnings: string[] = [];
    const warn = (l: string) => warnings.push(l);
    const env = {
      TASKFERRY_RELAY_CLIENT_TOKENS: "client_alice=alice-relay-token,client_bob=bob-relay-token",
    };
    assertEquals(await applyGoClientTokens(store, env, warn), ["alice", "bob"]);
    const alice = await store.getClient("alice");
    assertEquals(alice?.token_hash, await hashToken(relayTokenFor("alice", "alice-relay-token")));
    assert(!JSON.stringify(alice).includes("alice-relay-token"), "stored in the clear");
    assert(warnings.some((w) => w.includes("is short")));
    // A restart with a new token updates it; the old one stops working.
    await applyGoClientTokens(store, {
      TASKFERRY_RELAY_CLIENT_TOKENS: "alice=new-secret-new-secret-xyz",
    }, warn);
    assertEquals(
      (await store.getClient("alice"))?.token_hash,
      await hashToken(relayTokenFor("alice", "new-secret-new-secret-xyz")),
    );
    await store.revokeClient("bob", Date.now());
    await rejects(() => applyGoClientTokens(store, env, warn), "revoked");
    await rejects(
      () => applyGoClientTokens(store, { TASKFERRY_RELAY_TOKEN: "shared" }, warn),
      "act as every client",
    );
    assertEquals(await store.getClient("client_alice"), null);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
