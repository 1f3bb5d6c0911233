/**
 * The relay remembers its public URL (issue 19 item 2), with real processes: a relay started
 * with --public-url stores it; after it stops, `relay add-client` and `rotate-token` print setup
 * links to that URL; a loopback --public-url on the verb is refused with a clear message (and
 * nothing is created), and accepted with --allow-loopback-link.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { openSqliteRelayStore } from "../../lib/relay/mod.ts";
import { isLocalOnlyUrl } from "../../lib/cli/relay_public_url.ts";
import { openPgRelayStore } from "../../lib/relay/pg_store.ts";
import { postgresBin, startPostgres } from "../relay/pg.ts";
import { runTaskferry, spawnTaskferry } from "./proc.ts";

const PUBLIC = "https://relay.example.test";

Deno.test("relay public URL: remembered at start, used by add-client and rotate-token", async () => {
  const home = await Deno.makeTempDir({ prefix: "tf-ops2-url-" });
  const env = { TASKFERRY_HOME: home };
  try {
    const relay = spawnTaskferry(
      ["relay", "--addr", "127.0.0.1:0", "--public-url", PUBLIC],
      env,
    );
    await relay.waitFor(/taskferry relay listening on http/);
    assertEquals(await relay.stop(), 0);

    // No --public-url on the verb: the remembered one.
    const added = await runTaskferry(["relay", "add-client", "bob", "--json"], env);
    assertEquals(added.code, 0, added.output);
    const creds = JSON.parse(added.output);
    assert(creds.setup_url.includes(encodeURIComponent(PUBLIC)), creds.setup_url);
    assert(!added.output.includes("127.0.0.1"), added.output);

    const rotated = await runTaskferry(["relay", "rotate-token", "bob"], env);
    assertEquals(rotated.code, 0, rotated.output);
    assert(rotated.output.includes(`TASKFERRY_RELAY_URL=${PUBLIC} `), rotated.output);

    // A loopback link for a relay with a public URL: refused, and nothing was created.
    const refused = await runTaskferry(
      ["relay", "add-client", "carol", "--public-url", "http://127.0.0.1:8080"],
      env,
    );
    assert(refused.code !== 0, refused.output);
    assert(refused.output.includes("refusing to print a setup link to http://127.0.0.1:8080"));
    assert(refused.output.includes(`public URL is ${PUBLIC}`), refused.output);
    assert(refused.output.includes("--allow-loopback-link"), refused.output);
    const listed = await runTaskferry(["relay", "list-clients", "--json"], env);
    assertEquals(
      JSON.parse(listed.output).clients.map((c: { client_id: string }) => c.client_id),
      ["bob"],
    );
    const refusedRotate = await runTaskferry(
      ["relay", "rotate-token", "bob", "--public-url", "http://localhost:8080"],
      env,
    );
    assert(refusedRotate.code !== 0 && refusedRotate.output.includes("refusing"));

    // Told to: accepted.
    const allowed = await runTaskferry(
      [
        "relay",
        "add-client",
        "carol",
        "--public-url",
        "http://127.0.0.1:8080",
        "--allow-loopback-link",
        "--json",
      ],
      env,
    );
    assertEquals(allowed.code, 0, allowed.output);
    assert(
      JSON.parse(allowed.output).setup_url.includes(encodeURIComponent("http://127.0.0.1:8080")),
    );

    // A later start without --public-url keeps using the remembered URL.
    const again = spawnTaskferry(["relay", "--addr", "127.0.0.1:0"], env);
    await again.waitFor(new RegExp(`public URL ${PUBLIC.replaceAll(".", "\\.")}`));
    assertEquals(await again.stop(), 0);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("relay public URL: a relay never given one prints loopback links as before", async () => {
  const home = await Deno.makeTempDir({ prefix: "tf-ops2-url-" });
  try {
    const added = await runTaskferry(["relay", "add-client", "dave", "--json"], {
      TASKFERRY_HOME: home,
    });
    assertEquals(added.code, 0, added.output);
    assert(
      JSON.parse(added.output).setup_url.includes(encodeURIComponent("http://127.0.0.1:8080")),
    );
    const store = openSqliteRelayStore(join(home, "relay.db"));
    try {
      assertEquals(await store.getSetting("public_url"), null);
      await store.setSetting("public_url", PUBLIC, 1);
      await store.setSetting("public_url", PUBLIC + "/x", 2);
      assertEquals(await store.getSetting("public_url"), PUBLIC + "/x");
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("relay public URL: which URLs are local-only", () => {
  for (
    const u of [
      "http://127.0.0.1:8080",
      "http://localhost",
      "http://[::1]:80",
      "http://0.0.0.0:8080",
    ]
  ) {
    assert(isLocalOnlyUrl(u), u);
  }
  for (const u of ["https://relay.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]"]) {
    assert(!isLocalOnlyUrl(u), u);
  }
});

Deno.test({
  name: "relay settings: remembered on PostgreSQL too (migration 2 in both dialects)",
  ignore: postgresBin() === null,
  async fn() {
    const server = await startPostgres();
    try {
      const url = await server.createDatabase(`ops2_settings_${Date.now()}`);
      const store = await openPgRelayStore(url);
      try {
        assertEquals(await store.getSetting("public_url"), null);
        await store.setSetting("public_url", PUBLIC, 1);
        await store.setSetting("public_url", PUBLIC + "/y", 2);
        assertEquals(await store.getSetting("public_url"), PUBLIC + "/y");
      } finally {
        await store.close();
      }
      // A second node opening the same database sees it (and migrates nothing twice).
      const other = await openPgRelayStore(url);
      assertEquals(await other.getSetting("public_url"), PUBLIC + "/y");
      await other.close();
    } finally {
      await server.stop();
    }
  },
});
