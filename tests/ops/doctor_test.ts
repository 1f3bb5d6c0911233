/**
 * `taskferry doctor` as a real process finds each injected fault, names it and exits 1; a healthy
 * daemon and relay pass (exit 0). Faults: readable home, daemon not running, damaged database,
 * unreachable relay, refused token, clock skew, plain HTTP beyond loopback, a broken TLS pair.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { startTestRelay } from "../relay/sim.ts";
import { runTaskferry, spawnTaskferry } from "./proc.ts";

interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

async function doctor(args: string[], env: Record<string, string>) {
  const r = await runTaskferry(["doctor", "--json", ...args], env);
  const parsed = JSON.parse(r.output.slice(r.output.indexOf("{"))) as { checks: Check[] };
  const by = (name: string) => parsed.checks.find((c) => c.name === name);
  return { code: r.code, checks: parsed.checks, by, output: r.output };
}

function failed(d: { checks: Check[] }) {
  return d.checks.filter((c) => c.status === "fail").map((c) => c.name);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("doctor: a healthy daemon passes; each injected fault fails its check with a fix", async () => {
  const relay = await startTestRelay({ retryBaseMs: 200 });
  const dir = await Deno.makeTempDir({ prefix: "tf-doctor-" });
  const home = join(dir, "home");
  const env = {
    TASKFERRY_HOME: home,
    TASKFERRY_CLIENT_ID: "alice",
    TASKFERRY_CLIENT_ADDR: "127.0.0.1:0",
    TASKFERRY_RELAY_URL: relay.url,
    TASKFERRY_RELAY_TOKEN: await relay.addClient("alice"),
  };
  const daemon = spawnTaskferry(["client"], env);
  // A fake relay whose clock is ten minutes ahead (and which accepts any token).
  const skewed = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new Response(req.method === "PUT" ? "{}" : '{"status":"ok"}', {
        status: req.method === "PUT" ? 400 : 200,
        headers: { date: new Date(Date.now() + 600_000).toUTCString() },
      }),
  );
  try {
    await daemon.waitFor(/taskferry client 'alice' on/);
    const ok = await doctor([], env);
    assertEquals(failed(ok), [], ok.output);
    assertEquals(ok.code, 0);
    for (
      const name of [
        "config",
        "permissions",
        "daemon",
        "api",
        "database",
        "relay",
        "relay token",
        "clock",
      ]
    ) {
      assertEquals(ok.by(name)?.status, "ok", `${name}: ${ok.output}`);
    }

    // Disk space depends on the machine: present, and not failing (asserted above).
    assert(ok.by("disk space") !== undefined, ok.output);

    const badToken = await doctor([], {
      ...env,
      TASKFERRY_RELAY_TOKEN: `tfr.alice.${"x".repeat(43)}`,
    });
    assertEquals([badToken.code, failed(badToken)], [1, ["relay token"]], badToken.output);
    assert(badToken.by("relay token")!.fix!.includes("rotate-token"), badToken.output);

    const down = await doctor([], {
      ...env,
      TASKFERRY_RELAY_URL: `http://127.0.0.1:${freePort()}`,
    });
    assertEquals([down.code, failed(down)], [1, ["relay"]], down.output);

    const skew = await doctor([], {
      ...env,
      TASKFERRY_RELAY_URL: `http://127.0.0.1:${skewed.addr.port}`,
    });
    assertEquals([skew.code, failed(skew)], [1, ["clock"]], skew.output);
    assert(skew.by("clock")!.detail.includes("behind the relay"), skew.output);

    Deno.chmodSync(home, 0o755);
    const loose = await doctor([], env);
    assertEquals([loose.code, failed(loose)], [1, ["permissions"]], loose.output);
    Deno.chmodSync(home, 0o700);

    assertEquals(await daemon.stop(), 0);
    const stopped = await doctor([], env);
    assertEquals([stopped.code, failed(stopped)], [1, ["daemon"]], stopped.output);

    // Damage a page in the middle of the database (the header stays valid).
    const db = Deno.openSync(join(home, "client.db"), { read: true, write: true });
    db.seekSync(4096 * 2, Deno.SeekMode.Start);
    db.writeSync(new Uint8Array(4096).fill(0x5a));
    db.close();
    const damaged = await doctor([], env);
    assertEquals(damaged.code, 1, damaged.output);
    assert(failed(damaged).includes("database"), damaged.output);
  } finally {
    await daemon.stop();
    await skewed.shutdown();
    await relay.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doctor --relay: a running relay passes; plain HTTP beyond loopback and a broken TLS pair fail", async () => {
  const relay = await startTestRelay();
  const dir = await Deno.makeTempDir({ prefix: "tf-doctor-" });
  const env = { TASKFERRY_HOME: dir };
  try {
    const ok = await doctor(
      ["--relay", "--addr", `127.0.0.1:${relay.port}`, "--db", relay.dbPath],
      env,
    );
    assertEquals([ok.code, failed(ok)], [0, []], ok.output);
    assertEquals(ok.by("running")?.status, "ok", ok.output);
    assertEquals(ok.by("database")?.status, "ok", ok.output);

    const open = await doctor(
      ["--relay", "--addr", `0.0.0.0:${relay.port}`, "--db", relay.dbPath],
      env,
    );
    assertEquals([open.code, failed(open)], [1, ["tls"]], open.output);
    assertEquals(open.by("public URL")?.status, "warn", "a loopback public URL on 0.0.0.0");

    Deno.writeTextFileSync(join(dir, "c.pem"), "garbage");
    Deno.writeTextFileSync(join(dir, "k.pem"), "garbage");
    const badTls = await doctor([
      "--relay",
      "--addr",
      `127.0.0.1:${freePort()}`,
      "--tls-cert",
      join(dir, "c.pem"),
      "--tls-key",
      join(dir, "k.pem"),
    ], env);
    assertEquals(badTls.code, 1, badTls.output);
    assertEquals(badTls.by("tls")?.status, "fail", badTls.output);
    assertEquals(badTls.by("running")?.status, "fail", "nothing listens there");
  } finally {
    await relay.close();
    await Deno.remove(dir, { recursive: true });
  }
});
