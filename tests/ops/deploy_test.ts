/**
 * The deploy kit checked as far as this machine allows (issue 19 items 9–10): the systemd units
 * pass `systemd-analyze verify` and score well on `systemd-analyze security`; the compose file and
 * the release workflow parse and say what the docs say; the Dockerfile is multi-stage, ends
 * non-root, and its RUN lines are valid shell, the build-stamping one run for real; install.sh
 * installs a release whose checksum matches and refuses one that does not.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DEPLOY = join(ROOT, "deploy");

async function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...opts })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function have(cmd: string, check = "") {
  return (await sh("sh", ["-c", `command -v ${cmd} >/dev/null && ${check || "true"}`])).code === 0;
}

const HAVE_SYSTEMD = await have("systemd-analyze");
const HAVE_YAML = await have("python3", "python3 -c 'import yaml'");

Deno.test({
  name: "deploy: systemd units verify cleanly and are hardened (exposure <= 2.0)",
  ignore: !HAVE_SYSTEMD,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tf-units-" });
    try {
      // verify insists that ExecStart exists: point it at a stand-in binary.
      const stub = join(dir, "taskferry");
      Deno.writeTextFileSync(stub, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const units: [string, string][] = [
        ["taskferry-relay.service", "taskferry-relay.service"],
        ["taskferry-client@.service", "taskferry-client@alice.service"],
      ];
      for (const [src, as] of units) {
        const text = Deno.readTextFileSync(join(DEPLOY, "systemd", src));
        Deno.writeTextFileSync(join(dir, as), text.replaceAll("/usr/local/bin/taskferry", stub));
        const v = await sh("systemd-analyze", ["verify", join(dir, as)]);
        assertEquals([v.code, v.stderr.trim()], [0, ""], `${src}: ${v.stderr}`);
        const sec = await sh("systemd-analyze", ["security", "--offline=yes", join(dir, as)]);
        const m = /Overall exposure level for \S+: ([\d.]+)/.exec(sec.stdout + sec.stderr);
        assert(m, `${src}: ${sec.stdout}${sec.stderr}`);
        assert(Number(m[1]) <= 2.0, `${src} exposure ${m[1]}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "deploy: compose file and release workflow parse and match the docs",
  ignore: !HAVE_YAML,
  async fn() {
    const load = async (path: string) => {
      const r = await sh("python3", [
        "-c",
        "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))",
        path,
      ]);
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const compose = await load(join(DEPLOY, "docker", "compose.yaml"));
    assertEquals(Object.keys(compose.services).sort(), ["caddy", "relay"]);
    assertEquals(compose.services.relay.ports, undefined, "only Caddy is published");
    assertEquals(compose.services.relay.environment.TASKFERRY_RELAY_BEHIND_PROXY, "true");
    assert(compose.services.caddy.ports.includes("443:443"));
    const caddyfile = Deno.readTextFileSync(join(DEPLOY, "docker", "Caddyfile"));
    assert(caddyfile.includes("reverse_proxy relay:8080"), "Caddy proxies to the relay service");

    const wf = await load(join(ROOT, ".github", "workflows", "release.yml"));
    const targets = wf.jobs.build.strategy.matrix.include.map((x: { target: string }) => x.target);
    assertEquals(targets.sort(), [
      "aarch64-apple-darwin",
      "aarch64-unknown-linux-gnu",
      "x86_64-apple-darwin",
      "x86_64-pc-windows-msvc",
      "x86_64-unknown-linux-gnu",
    ]);
    const steps = JSON.stringify(wf.jobs.release.steps);
    assert(steps.includes("sha256sum") && steps.includes("SHA256SUMS"), "checksums are published");
  },
});

Deno.test("deploy: the Dockerfile is multi-stage, ends non-root, and its RUN lines are valid shell", async () => {
  const text = Deno.readTextFileSync(join(DEPLOY, "docker", "Dockerfile"));
  const stages = text.split(/^FROM /m).slice(1);
  assert(stages.length >= 2, "multi-stage");
  const final = stages.at(-1)!;
  const user = /^USER (\S+)/m.exec(final)?.[1];
  assert(user && !/^(root|0)(:|$)/.test(user), `final stage runs as ${user}`);
  const runs = [...text.matchAll(/^RUN (.+)$/gm)].map((m) => m[1]!);
  assert(runs.length > 0);
  for (const line of runs) {
    const r = await sh("sh", ["-n", "-c", line]);
    assertEquals(r.code, 0, `RUN ${line}: ${r.stderr}`);
  }
  // The stamping line runs as the build would run it, in a scratch tree.
  const stamp = runs.find((l) => l.includes("build-info.sh"))!;
  const dir = await Deno.makeTempDir({ prefix: "tf-docker-" });
  try {
    Deno.mkdirSync(join(dir, "lib", "cli"), { recursive: true });
    Deno.mkdirSync(join(dir, "deploy"));
    Deno.copyFileSync(join(DEPLOY, "build-info.sh"), join(dir, "deploy", "build-info.sh"));
    const r = await sh("sh", ["-c", stamp], { cwd: dir, env: { COMMIT: "abc1234def" } });
    assertEquals(r.code, 0, r.stderr);
    const file = join(dir, "lib", "cli", "build_info.ts");
    const { BUILD_INFO } = await import(`file://${file}`);
    assertEquals(BUILD_INFO.commit, "abc1234def");
    assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(BUILD_INFO.date), BUILD_INFO.date);
    const bad = await sh("sh", [join(DEPLOY, "build-info.sh"), 'x"; evil', file]);
    assertEquals(bad.code, 2, "a commit is never pasted into code unchecked");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deploy: install.sh installs a release whose checksum matches and refuses a tampered one",
  ignore: Deno.build.os === "windows" || !(await have("curl")),
  async fn() {
    const os = Deno.build.os === "darwin" ? "macos" : "linux";
    const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
    const asset = `taskferry-${os}-${arch}`;
    const binary = "#!/bin/sh\necho 'taskferry 9.9.9 (commit fake)'\n";
    const digest = async (s: string) =>
      Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))))
        .map((b) => b.toString(16).padStart(2, "0")).join("");
    const files: Record<string, string> = {
      [`/v9.9.9/${asset}`]: binary,
      "/v9.9.9/SHA256SUMS": `${await digest(binary)}  ${asset}\n`,
      [`/v6.6.6/${asset}`]: binary + "# tampered\n",
      "/v6.6.6/SHA256SUMS": `${await digest(binary)}  ${asset}\n`,
    };
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const body = files[new URL(req.url).pathname];
      return body === undefined ? new Response("no", { status: 404 }) : new Response(body);
    });
    const dir = await Deno.makeTempDir({ prefix: "tf-install-" });
    const env = {
      TASKFERRY_RELEASES: `http://127.0.0.1:${server.addr.port}`,
      TASKFERRY_INSTALL_DIR: join(dir, "bin"),
      HOME: dir,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    };
    try {
      const good = await sh("sh", [join(ROOT, "install.sh"), "v9.9.9"], { env });
      assertEquals(good.code, 0, good.stderr);
      assert(good.stdout.includes("taskferry 9.9.9 (commit fake)"), good.stdout);
      Deno.removeSync(join(dir, "bin", "taskferry"));
      const bad = await sh("sh", [join(ROOT, "install.sh"), "v6.6.6"], { env });
      assertEquals(bad.code, 1, bad.stdout);
      assert(bad.stderr.includes("checksum mismatch"), bad.stderr);
      assertEquals([...Deno.readDirSync(join(dir, "bin"))].length, 0, "nothing installed");
      const missing = await sh("sh", [join(ROOT, "install.sh"), "v0.0.0"], { env });
      assertEquals(missing.code, 1);
      assert(missing.stderr.includes("cannot download"), missing.stderr);
    } finally {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
