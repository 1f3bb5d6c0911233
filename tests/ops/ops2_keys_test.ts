/**
 * Protected keys at rest (issue 19.6), in process: the wrap format (wrong secret, moved row,
 * damaged text), the agents table (locked without the secret, wraps on insert and on the
 * keyring's rotation), the passphrase-file key source's refusals, and the macOS/Windows
 * keychain adapters against stand-in tools that record argv and stdin.
 */
import { join } from "node:path";
import { assert, assertCode, assertEquals, assertRejects, assertThrows } from "../assert.ts";
import { DaemonStore } from "../../lib/client/store/mod.ts";
import { useKeyWrapper } from "../../lib/client/store/agents.ts";
import { Keyring } from "../../lib/client/keyring.ts";
import { EventBus } from "../../lib/client/events.ts";
import { storedKeys } from "../../lib/client/keys.ts";
import { generateAgentKeys } from "../../lib/protocol/mod.ts";
import { isWrapped, KeyWrapper, newKdfParams, UnwrapError } from "../../lib/client/secrets/wrap.ts";
import { PassphraseFileSource } from "../../lib/client/secrets/passphrase_file.ts";
import { KeySourceError } from "../../lib/client/secrets/key_source.ts";
import { MacKeychainSource } from "../../lib/client/secrets/macos_keychain.ts";
import { WindowsDpapiSource } from "../../lib/client/secrets/windows_dpapi.ts";
import { SecretToolSource } from "../../lib/client/secrets/secret_tool.ts";
import { KeyProtectionError, unlockKeys } from "../../lib/client/secrets/protection.ts";

// Cheap parameters for the format tests; the default cost is exercised by unlockKeys below.
const FAST = { N: 1024, r: 8, p: 1 };

Deno.test("key wrap: round trip; wrong secret, other row and damage all refuse", () => {
  const params = { ...FAST, salt: newKdfParams().salt };
  const w = new KeyWrapper("correct horse", params);
  const wrapped = w.wrap("c2VjcmV0LWtleQ", "row-a");
  assert(isWrapped(wrapped) && !wrapped.includes("c2VjcmV0LWtleQ"), wrapped);
  assertEquals(w.unwrap(wrapped, "row-a"), "c2VjcmV0LWtleQ");
  assert(w.wrap("same", "a") !== w.wrap("same", "a"), "a fresh IV every time");
  assertThrows(() => new KeyWrapper("wrong horse", params).unwrap(wrapped, "row-a"), UnwrapError);
  assertThrows(() => w.unwrap(wrapped, "row-b"), UnwrapError);
  const parts = wrapped.split(".");
  parts[7] = parts[7]!.slice(0, -2) + (parts[7]!.endsWith("AA") ? "BB" : "AA");
  assertThrows(() => w.unwrap(parts.join("."), "row-a"), UnwrapError);
  const greedy = wrapped.replace(`.${FAST.N}.`, `.${1 << 24}.`);
  assertThrows(() => w.unwrap(greedy, "row-a"), UnwrapError);
  // The parameters travel with each key: another install's salt still opens with the secret.
  const other = new KeyWrapper("correct horse", { ...FAST, salt: newKdfParams().salt });
  assertEquals(other.unwrap(wrapped, "row-a"), "c2VjcmV0LWtleQ");
});

Deno.test("key protection: protected table refuses without the secret; every write is wrapped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-ops2-keys-" });
  const dbPath = join(dir, "client.db");
  const passFile = join(dir, "pass");
  Deno.writeTextFileSync(passFile, "correct horse\n", { mode: 0o600 });
  try {
    const before = DaemonStore.open(dbPath);
    const clear = await storedKeys(await generateAgentKeys());
    before.agents.insert("@alice/x", clear, "{}", false, "t");
    before.close();

    const opts = { dbPath, home: dir, protect: true, keySource: "passphrase" as const };
    const unlocked = await unlockKeys({ ...opts, passphraseFile: passFile });
    assertEquals([unlocked?.enabled, unlocked?.wrapped], [true, 1]);
    // Idempotent: a second --protect-keys unlocks, changes nothing.
    const again = await unlockKeys({ ...opts, passphraseFile: passFile });
    assertEquals([again?.enabled, again?.wrapped], [false, 0]);

    const store = DaemonStore.open(dbPath);
    try {
      const raw = store.db.prepare("SELECT * FROM agents").get() as Record<string, string>;
      assert(isWrapped(raw.signing_private_key!) && isWrapped(raw.encryption_private_key!));
      // Locked: neither read nor write works, and nothing is written in clear.
      await assertCode(() => store.agents.get("@alice/x"), "keys_locked");
      const fresh = await storedKeys(await generateAgentKeys());
      await assertCode(
        () => store.agents.insert("@alice/y", fresh, "{}", false, "t"),
        "keys_locked",
      );
      assertEquals(store.agents.count(), 1);

      useKeyWrapper(store.db, unlocked!.wrapper);
      assertEquals(store.agents.get("@alice/x")?.signing_private_key, clear.signing_private_key);
      const keyring = new Keyring(store, "alice", null, new EventBus(), () => "t");
      const oldKeys = await keyring.keysOf("@alice/x");
      // No relay here: a rotation registers with the relay first, so it is refused and nothing
      // changes locally (the old key stays, wrapped).
      await assertRejects(() => keyring.rotate("@alice/x"));
      const after = store.db.prepare("SELECT * FROM agents").get() as Record<string, string>;
      assertEquals(after.signing_private_key, raw.signing_private_key);
      assertEquals(
        (await keyring.keysOf("@alice/x")).signing.publicKey.join(),
        oldKeys.signing.publicKey.join(),
      );
      // Every write goes through the same wrapping path a rotation uses: a new agent's keys are
      // stored wrapped.
      store.agents.insert("@alice/y", fresh, "{}", false, "t");
      const added = store.db.prepare("SELECT * FROM agents WHERE handle = ?").get(
        "@alice/y",
      ) as Record<string, string>;
      assert(isWrapped(added.signing_private_key!) && isWrapped(added.encryption_private_key!));
      assertEquals(store.agents.get("@alice/y")?.signing_private_key, fresh.signing_private_key);
    } finally {
      store.close();
    }

    Deno.writeTextFileSync(passFile, "wrong horse\n");
    const err = await assertRejects(
      () => unlockKeys({ ...opts, protect: false, passphraseFile: passFile }),
      KeyProtectionError,
    );
    assert(err.message.startsWith(`wrong passphrase for ${dbPath}`), err.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("key sources: a passphrase file that is missing or empty is refused clearly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf-ops2-keys-" });
  try {
    const missing = new PassphraseFileSource(join(dir, "nope"));
    const e1 = await assertRejects(() => missing.get(), KeySourceError);
    assert(e1.message.includes("does not exist"), e1.message);
    Deno.writeTextFileSync(join(dir, "empty"), "\n");
    const e2 = await assertRejects(() => new PassphraseFileSource(join(dir, "empty")).get());
    assert(e2.message.includes("is empty"), e2.message);
    Deno.writeTextFileSync(join(dir, "crlf"), "pass word\r\n");
    assertEquals(await new PassphraseFileSource(join(dir, "crlf")).get(), "pass word");
    await assertRejects(() => missing.set(), KeySourceError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A stand-in tool that records its argv (one per line) and its stdin, and prints `reply`. */
function fakeTool(dir: string, name: string, reply: string): string {
  const path = join(dir, name);
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> "${dir}/${name}.argv"; done\n` +
      `cat >> "${dir}/${name}.stdin"\nprintf '%s' '${reply}'\n`,
    { mode: 0o755 },
  );
  return path;
}

Deno.test({
  name: "key sources: the macOS and Windows adapters hand the secret over stdin, never argv",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tf-ops2-fake-" });
    const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I";
    try {
      const mac = new MacKeychainSource("keys-abc", fakeTool(dir, "security", secret + "\n"));
      await mac.set(secret);
      assertEquals(await mac.get(), secret);
      const macArgv = Deno.readTextFileSync(join(dir, "security.argv"));
      assert(!macArgv.includes(secret), macArgv);
      assert(macArgv.startsWith("-i\n") && macArgv.includes("find-generic-password\n"), macArgv);
      assert(Deno.readTextFileSync(join(dir, "security.stdin")).includes(`-w ${secret}\n`));
      await assertRejects(() => mac.set("has space; rm -rf"), KeySourceError);

      const sealed = join(dir, "keys.dpapi");
      const win = new WindowsDpapiSource(sealed, fakeTool(dir, "powershell", secret));
      assertEquals(await win.get(), null, "nothing sealed yet");
      await win.set(secret);
      Deno.writeTextFileSync(sealed, "sealed-bytes");
      assertEquals(await win.get(), secret);
      const winArgv = Deno.readTextFileSync(join(dir, "powershell.argv"));
      assert(!winArgv.includes(secret) && winArgv.includes("ProtectedData"), winArgv);
      assert(Deno.readTextFileSync(join(dir, "powershell.stdin")).startsWith(secret));

      // Not installed: a clear refusal naming how to get it.
      const missing = new SecretToolSource("keys-abc", join(dir, "no-such-secret-tool"));
      const err = await assertRejects(() => missing.get(), KeySourceError);
      assert(err.message.includes("libsecret-tools"), err.message);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
