/**
 * One child process per run, supervised: argv without a shell, its own process group (so a
 * cancel reaches everything it started), stdout and stderr read line by line as they come
 * (the child never blocks on a full pipe), the full stdout kept in a local file, and a stop
 * that sends SIGTERM to the group and SIGKILL after a grace period.
 */

/** What to run. */
export interface ChildSpec {
  /** argv[0] and its arguments; never content (design §11). */
  argv: string[];
  cwd: string;
  /** Extra environment (ids and paths only), added to the worker's own environment. */
  env: Record<string, string>;
  /** Written to the child's stdin, which is then closed. */
  stdin: string;
  /** Where the full stdout is written as it arrives. */
  stdoutFile: string;
}

/** Callbacks for output lines (called in order; must not block). */
export interface ChildHooks {
  onStdoutLine(line: string): void;
  onStderrLine(line: string): void;
}

/** How a run ended. */
export interface ChildOutcome {
  kind: "exit" | "timeout" | "cancelled" | "spawn_failed";
  /** Exit code (128+n after a signal), null when it never started. */
  code: number | null;
  signal: string | null;
  /** The last lines of stderr (bounded). */
  stderrTail: string[];
  /** Why it could not start (spawn_failed). */
  error?: string;
}

/** A running child. */
export interface Supervised {
  pid: number | null;
  done: Promise<ChildOutcome>;
  /** Ends the run: SIGTERM to the group now, SIGKILL after the grace period. Idempotent. */
  stop(kind: "cancelled" | "timeout"): void;
}

/** Longest line passed on; longer lines are cut (a child printing one huge line stays bounded). */
export const MAX_LINE_CHARS = 8192;
/** Lines of stderr kept for a failure reason. */
const STDERR_TAIL_LINES = 20;
/** Variables the child must not inherit: the worker's own credentials. */
const SCRUBBED_ENV = /^TASKFERRY_(LOCAL_API_TOKEN|RELAY_TOKEN|TOKEN)$/;

/** Starts `spec` and supervises it. */
export function superviseChild(
  spec: ChildSpec,
  hooks: ChildHooks,
  opts: { graceMs: number; timeoutMs?: number },
): Supervised {
  const stderrTail: string[] = [];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) if (!SCRUBBED_ENV.test(k)) env[k] = v;
  Object.assign(env, spec.env);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(spec.argv[0]!, {
      args: spec.argv.slice(1),
      cwd: spec.cwd,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // setsid(): the child leads a new process group, so kill(-pid) reaches its children too.
      detached: true,
    }).spawn();
  } catch (err) {
    const error = `cannot start ${JSON.stringify(spec.argv[0])}: ${(err as Error).message}`;
    return {
      pid: null,
      stop: () => {},
      done: Promise.resolve({ kind: "spawn_failed", code: null, signal: null, stderrTail, error }),
    };
  }
  const pid = child.pid;
  let stopped: "cancelled" | "timeout" | null = null;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const signalGroup = (sig: Deno.Signal) => {
    try {
      Deno.kill(-pid, sig);
    } catch {
      // The group is gone — or there is none (no process groups here): signal the child itself.
      try {
        child.kill(sig);
      } catch {
        // already exited
      }
    }
  };
  const stop = (kind: "cancelled" | "timeout") => {
    if (stopped) return;
    stopped = kind;
    signalGroup("SIGTERM");
    killTimer = setTimeout(() => signalGroup("SIGKILL"), opts.graceMs);
  };
  const timeout = opts.timeoutMs ? setTimeout(() => stop("timeout"), opts.timeoutMs) : undefined;

  // stdin: write the prompt, then close; a child that never reads it must not stall us.
  const writer = child.stdin.getWriter();
  writer.write(new TextEncoder().encode(spec.stdin)).then(() => writer.close()).catch(() => {});

  const file = Deno.openSync(spec.stdoutFile, { create: true, write: true, truncate: true });
  const [forFile, forLines] = child.stdout.tee();
  const fileDone = forFile.pipeTo(new WritableStream({ write: (c) => void file.writeSync(c) }))
    .catch(() => {}).finally(() => file.close());
  const outDone = readLines(forLines, hooks.onStdoutLine);
  const errDone = readLines(child.stderr, (line) => {
    stderrTail.push(line.slice(0, 500));
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    hooks.onStderrLine(line);
  });

  const done = (async (): Promise<ChildOutcome> => {
    const status = await child.status;
    clearTimeout(timeout);
    // Whatever the leader left behind in its group goes with it (a run is one unit).
    if (!stopped) signalGroup("SIGKILL");
    await Promise.all([outDone, errDone, fileDone]);
    if (stopped) {
      // Give the group the rest of its grace period, then make sure it is gone.
      clearTimeout(killTimer);
      signalGroup("SIGKILL");
    }
    return {
      kind: stopped ?? "exit",
      code: status.code,
      signal: status.signal,
      stderrTail: [...stderrTail],
    };
  })();
  return { pid, done, stop };
}

/** Reads `stream` as UTF-8 lines (the last one without a newline too), each cut to a bound. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buf = "";
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, nl).replace(/\r$/, "").slice(0, MAX_LINE_CHARS));
        buf = buf.slice(nl + 1);
      }
      // A line without an end is still bounded in memory.
      if (buf.length > MAX_LINE_CHARS * 4) {
        onLine(buf.slice(0, MAX_LINE_CHARS));
        buf = "";
      }
    }
  } catch {
    // the pipe broke (the process was killed): what was read is what we have
  }
  if (buf) onLine(buf.slice(0, MAX_LINE_CHARS));
}
