/** docs/api.md stays in step with the code: every loopback route and every error code. */
import { assert } from "../assert.ts";
import { daemonApp } from "../../lib/client/api.ts";
import { Daemon } from "../../lib/client/daemon.ts";
import { CLIENT_MIGRATIONS } from "../../lib/client/store/mod.ts";
import { ERRORS } from "../../lib/protocol/mod.ts";
import { openDatabase } from "../../lib/store/mod.ts";

const DOC = await Deno.readTextFile(new URL("../../docs/api.md", import.meta.url));

Deno.test("api docs: every loopback route of lib/client/api.ts is documented", () => {
  const db = openDatabase(":memory:", CLIENT_MIGRATIONS);
  try {
    const d = new Daemon(db, {
      clientId: "docs",
      deviceId: "dev_01M800TA6EF950VFRHF00M6645",
      relayUrl: undefined,
      relayToken: undefined,
      localApiToken: "tfl_docs",
    });
    const routes = daemonApp(d).routes
      .filter((r) => r.method !== "ALL" && r.path.startsWith("/v1/"))
      .map((r) =>
        `${r.method} ${r.path.replace(":owner/:name", "{handle}").replace(/:([a-z_]+)/g, "{$1}")}`
      );
    assert(routes.length >= 30, `only ${routes.length} routes found`);
    const missing = [...new Set(routes)].filter((r) => !DOC.includes("`" + r + "`"));
    assert(missing.length === 0, `docs/api.md does not document: ${missing.join(", ")}`);
  } finally {
    db.close();
  }
});

Deno.test("api docs: the error table lists every catalogue code with its status", () => {
  const missing: string[] = [];
  for (const [code, e] of Object.entries(ERRORS)) {
    const row = new RegExp("^\\| `" + code + "` +\\| +" + e.status + " \\|", "m");
    if (!row.test(DOC)) missing.push(`${code} (${e.status})`);
  }
  assert(
    missing.length === 0,
    `docs/api.md error table is missing or wrong: ${missing.join(", ")}`,
  );
});
