/**
 * Starts a throwaway PostgreSQL server for tests: a temp data dir, 127.0.0.1 on a free high
 * port, fsync off. Stopped by pid (pg_ctl stop on its data dir). Needs Debian's postgresql
 * package (`.ci/packages.sh` installs it in CI). `settings`: more `-c name=value` server settings
 * (the cluster bench loads pg_stat_statements to count statements per envelope).
 */
import { join } from "node:path";

const BIN_DIRS = [
  "/usr/lib/postgresql/17/bin",
  "/usr/lib/postgresql/16/bin",
  "/usr/lib/postgresql/15/bin",
];

/** The PostgreSQL bin dir, or null when the server is not installed. */
export function postgresBin(): string | null {
  for (const dir of BIN_DIRS) {
    try {
      Deno.statSync(join(dir, "initdb"));
      return dir;
    } catch {
      // try the next
    }
  }
  return null;
}

/** A running test server. */
export interface TestPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** A fresh database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function runAs(user: string | null, cmd: string, args: string[]) {
  const isRoot = Deno.uid() === 0;
  const [program, argv] = isRoot && user
    ? ["runuser", ["-u", user, "--", cmd, ...args]]
    : [cmd, args];
  const out = await new Deno.Command(program, {
    args: argv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
    clearEnv: true,
  }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Starts PostgreSQL; throws with a clear message when it is not installed. */
export async function startPostgres(
  opts: { settings?: string[] } = {},
): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) {
    throw new Error(
      "PostgreSQL is not installed: apt-get install -y postgresql (see .ci/packages.sh)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "tf-pg-" });
  const user = Deno.uid() === 0 ? "postgres" : null;
  if (user) await new Deno.Command("chown", { args: [user, dir] }).output();
  const data = join(dir, "data");
  await runAs(user, join(bin, "initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
  ]);
  const port = freePort();
  await runAs(user, join(bin, "pg_ctl"), [
    "-D",
    data,
    "-w",
    "-l",
    join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200${
      (opts.settings ?? []).map((x) => ` -c ${x}`).join("")
    }`,
    "start",
  ]);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    async createDatabase(name: string) {
      await runAs(user, join(bin, "createdb"), [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        name,
      ]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await runAs(user, join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).catch(
        () => {},
      );
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
