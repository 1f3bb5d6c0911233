/**
 * Records a CPU profile of a running Deno process through its inspector and prints where the
 * time went: self time per function and per area (SQLite, WebSocket, crypto, …). This is how
 * the profiles in docs/benchmarks.md were taken.
 *
 *   deno run -A --inspect=127.0.0.1:9229 bench/main.ts --suite relay     # terminal 1
 *   deno run -A bench/cpuprofile.ts --port 9229 --seconds 10             # terminal 2
 *
 * `--out FILE` also writes the raw `.cpuprofile` (opens in Chrome DevTools). The profile covers
 * the inspected isolate only: the main thread, where the relay and in-process daemons run, not
 * the suite's load worker. The inspector itself costs some time (its share is printed).
 * @module
 */
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Connects to the first inspector target on `port` and records for `seconds`. */
async function record(port: number, seconds: number): Promise<Profile> {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  if (!targets[0]) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("cannot connect to the inspector"));
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data as string) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
  };
  const call = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve) => {
      const id = ++next;
      pending.set(id, resolve as (result: unknown) => void);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const { profile } = await call<{ profile: Profile }>("Profiler.stop");
  ws.close();
  return profile;
}

/** The area a function belongs to, by name and source. */
function area(frame: ProfileNode["callFrame"]): string {
  const { functionName: f, url: u } = frame;
  if (f === "(idle)") return "idle (waiting; Rust-side socket work is counted here too)";
  if (f === "(garbage collector)") return "garbage collection";
  if (u.includes("inspector") || f.startsWith("op_inspector")) return "(inspector overhead)";
  if ((u === "" && ["exec", "get", "all", "run", "prepare"].includes(f)) || u.includes("/store/")) {
    return "SQLite (node:sqlite)";
  }
  if (u.includes("sqlite_store")) return "SQLite (node:sqlite)";
  if (u.includes("websocket") || f.startsWith("op_ws")) return "WebSocket (Deno)";
  if (u.includes("fetch") || u.includes("deno_http") || f.startsWith("op_http")) {
    return "HTTP (Deno)";
  }
  if (
    u.includes("deno_crypto") || u.includes("@hpke") || u.includes("lib/protocol/crypto") ||
    u.includes("lib/protocol/primitives") || u.includes("internal/crypto") ||
    ["verify", "sign", "digest", "importKey", "exportKey", "deriveBits", "encrypt", "decrypt"]
      .includes(f)
  ) return "crypto (node:crypto, WebCrypto)";
  if (u.includes("zod")) return "zod validation";
  if (u.includes("canonicalize") || u.includes("canonical.ts")) return "JCS canonical form";
  if (u.includes("/lib/relay/")) return "relay code";
  if (u.includes("/lib/client/")) return "daemon code";
  if (u.startsWith("ext:")) return "Deno runtime JS";
  return "other";
}

function summarize(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, t] of self) {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url.replace(/^.*\/(lib|bench|node_modules|npm)\//, "$1/");
    const fn = `${frame.functionName || "(anonymous)"} ${where}:${frame.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + t);
    areas.set(area(frame), (areas.get(area(frame)) ?? 0) + t);
    total += t;
  }
  const lines = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
      .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`).join("\n");
  return `${(total / 1e6).toFixed(1)} s sampled\n\nby area (self time):\n${lines(areas, 20)}\n\n` +
    `by function (self time):\n${lines(fns, top)}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      port: { type: "string", default: "9229" },
      seconds: { type: "string", default: "10" },
      out: { type: "string" },
      top: { type: "string", default: "30" },
      file: { type: "string" },
    },
  });
  const profile = values.file
    ? JSON.parse(await Deno.readTextFile(values.file)) as Profile
    : await record(Number(values.port), Number(values.seconds));
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(profile));
  console.log(summarize(profile, Number(values.top)));
}
