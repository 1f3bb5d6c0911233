/**
 * `taskferry` as a real child process, for the operations tests: a minimal explicit environment,
 * output collected without ever blocking the child, and waits on what the child prints.
 */
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A minimal environment for a child, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DENO_TLS_CA_STORE: "system",
    NO_COLOR: "1",
    TASKFERRY_LOG_LEVEL: "warn",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    ...extra,
  };
}

/** A running `taskferry …` child. */
export interface Proc {
  child: Deno.ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves with the output once `re` matches it (rejects if the child exits first). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Exit code once the child has exited. */
  exited: Promise<number>;
  /** SIGTERM (or `signal`) and wait. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Spawns `taskferry args…` with `env` (over {@link childEnv}); `stdin` text is written then closed. */
export function spawnTaskferry(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Proc {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    env: childEnv(env),
    clearEnv: true,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    w.write(new TextEncoder().encode(stdin)).then(() => w.close()).catch(() => {});
  }
  let out = "";
  const waiters = new Set<() => void>();
  const pump = (s: ReadableStream<Uint8Array>) =>
    s.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({
        write: (c) => {
          out += c;
          for (const w of waiters) w();
        },
      }),
    );
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  let done = false;
  const exited = child.status.then(async (s) => {
    await drained;
    done = true;
    for (const w of waiters) w();
    return s.code;
  });
  return {
    child,
    output: () => out,
    exited,
    waitFor: (re, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`timed out waiting for ${re}:\n${out}`)),
          ms,
        );
        const check = () => {
          if (re.test(out)) finish(null);
          else if (done) finish(new Error(`exited before ${re}:\n${out}`));
        };
        const finish = (err: Error | null) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(out);
        };
        waiters.add(check);
        check();
      }),
    stop: async (signal = "SIGTERM") => {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      return await exited;
    },
  };
}

/** Runs `taskferry args…` to completion. */
export async function runTaskferry(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number; output: string }> {
  const p = spawnTaskferry(args, env, stdin);
  const code = await p.exited;
  return { code, output: p.output() };
}

/** The permission bits of `path`, in octal text (e.g. "600"). */
export function modeOf(path: string): string {
  return ((Deno.statSync(path).mode ?? 0) & 0o777).toString(8);
}
