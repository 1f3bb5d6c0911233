/**
 * The relay serving TLS itself (issue 19 item 1), as a real process with a private CA: HTTPS and
 * WSS work for a daemon that trusts the CA; SIGHUP swaps in a certificate from another CA and the
 * daemon reconnects (sessions are closed with 1001, not lost: lib/relay/server.ts); a broken
 * pair on SIGHUP keeps the old certificate serving; plain HTTP beyond loopback is warned about.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { eventually, startTestDaemon } from "../client/world.ts";
import { HAVE_OPENSSL, makeCa } from "./ca.ts";
import { modeOf, runTaskferry, spawnTaskferry } from "./proc.ts";

const LISTENING = /listening on (https?:\/\/[^ ]+) /;

async function healthVia(ca: string, url: string): Promise<boolean> {
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const res = await fetch(`${url}/health`, { client });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

Deno.test({
  name: "relay tls: HTTPS and WSS with a private CA; SIGHUP reloads; a broken pair keeps the old",
  ignore: !HAVE_OPENSSL || Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tf-tls-" });
    const one = await makeCa(dir, "one");
    const two = await makeCa(dir, "two");
    const certFile = join(dir, "live-cert.pem");
    const keyFile = join(dir, "live-key.pem");
    Deno.copyFileSync(one.certFile, certFile);
    Deno.copyFileSync(one.keyFile, keyFile);
    const env = {
      TASKFERRY_HOME: join(dir, "relay"),
      TASKFERRY_RELAY_TLS_CERT: certFile,
      TASKFERRY_RELAY_TLS_KEY: keyFile,
      TASKFERRY_LOG_LEVEL: "info",
    };
    const added = await runTaskferry(["relay", "add-client", "alice", "--json"], env);
    assertEquals(added.code, 0, added.output);
    const token = JSON.parse(added.output).token as string;
    const relay = spawnTaskferry(["relay", "--addr", "127.0.0.1:0"], env);
    let daemon;
    try {
      const url = LISTENING.exec(await relay.waitFor(LISTENING))![1]!.replace(
        "127.0.0.1",
        "localhost",
      );
      assert(url.startsWith("https://"), url);
      assert(await healthVia(one.ca, url), "HTTPS with the first CA");
      assert(!(await healthVia(two.ca, url)), "a client that trusts only the other CA refuses");
      const plain = await fetch(url.replace("https:", "http:") + "/health").then(
        () => true,
        () => false,
      );
      assert(!plain, "no plain HTTP on the TLS port");

      daemon = await startTestDaemon({ url }, "alice", {
        relayToken: token,
        relayCaCerts: [one.ca, two.ca],
      });
      await eventually(async () => (await daemon!.api.health()).relay.connected);

      // A broken pair: the old certificate keeps serving.
      Deno.writeTextFileSync(certFile, "not a certificate");
      relay.child.kill("SIGHUP");
      await relay.waitFor(/TLS reload failed/);
      assert(await healthVia(one.ca, url), "still serving the first certificate");

      // A good pair from another CA: after SIGHUP only that CA verifies, and the daemon is back.
      Deno.copyFileSync(two.certFile, certFile);
      Deno.copyFileSync(two.keyFile, keyFile);
      relay.child.kill("SIGHUP");
      await relay.waitFor(/TLS certificate reloaded/);
      assert(await healthVia(two.ca, url), "HTTPS with the second CA after reload");
      assert(!(await healthVia(one.ca, url)), "the first certificate is gone");
      await eventually(async () => (await daemon!.api.health()).relay.connected);
    } finally {
      await daemon?.close();
      assertEquals(await relay.stop(), 0, relay.output());
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "relay tls: plain HTTP beyond loopback is warned about unless --behind-proxy; relay data is private; half a pair or a broken one is refused",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tf-tls-" });
    const env = { TASKFERRY_HOME: dir };
    try {
      Deno.chmodSync(dir, 0o755); // as an older version might have left it: fixed at start
      for (const [extra, warned] of [[[], true], [["--behind-proxy"], false]] as const) {
        const relay = spawnTaskferry(["relay", "--addr", "0.0.0.0:0", ...extra], env);
        const out = await relay.waitFor(LISTENING);
        assertEquals(out.includes("INSECURE"), warned, out);
        assertEquals(modeOf(dir), "700");
        for (const f of ["relay.db", "relay.db-wal", "relay.db-shm"]) {
          assertEquals(modeOf(join(dir, f)), "600", f);
        }
        assertEquals(await relay.stop(), 0);
      }
      const half = await runTaskferry(["relay", "--tls-cert", join(dir, "c.pem")], env);
      assertEquals(half.code, 2, half.output);
      assert(half.output.includes("set both --tls-cert and --tls-key"), half.output);
      Deno.writeTextFileSync(join(dir, "junk.pem"), "not PEM");
      const junk = await runTaskferry([
        "relay",
        "--addr",
        "127.0.0.1:0",
        "--tls-cert",
        join(dir, "junk.pem"),
        "--tls-key",
        join(dir, "junk.pem"),
      ], env);
      assertEquals(junk.code, 2, junk.output);
      assert(junk.output.includes("do not load") && !junk.output.includes("    at "), junk.output);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
