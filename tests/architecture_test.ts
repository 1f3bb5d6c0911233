/**
 * The layering of design §2, checked (issue 14 item 6): reads the import graph of lib/ (every
 * `import … from`, `export … from`, side-effect and dynamic import of every .ts file) and fails
 * on an edge the design forbids:
 *
 * - lib/protocol imports nothing outside lib/protocol but zod, @hpke/core and canonicalize
 *   (it is pure: no I/O, no Deno or Node APIs, no other area), except that its primitives
 *   (lib/protocol/primitives.ts alone) compute on node:crypto;
 * - lib/relay and lib/client never import each other (they share only protocol, store, http);
 * - lib/sdk imports only lib/protocol;
 * - lib/store imports neither lib/relay nor lib/client;
 * - no import cycle between areas (an area is lib/<dir>, a file at lib/ root, or web/).
 *
 * No parser library: top-level imports start a line (deno fmt), so line-anchored patterns find
 * them and skip JSDoc examples (which sit behind ` * `).
 */
import { assert, assertEquals } from "./assert.ts";

/** One import edge between files, with the specifier as written. */
export interface Edge {
  from: string;
  to: string;
  specifier: string;
}

const STATIC = /^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm;
const SIDE_EFFECT = /^import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a TypeScript source imports or re-exports. */
export function specifiersOf(source: string): string[] {
  const out: string[] = [];
  for (const re of [STATIC, SIDE_EFFECT, DYNAMIC]) {
    for (const m of source.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

/** The area of a repository path: `protocol` for lib/protocol/…, `log` for lib/log.ts, `web`. */
export function areaOf(path: string): string {
  const lib = /^lib\/([^/]+)\//.exec(path);
  if (lib) return lib[1]!;
  const root = /^lib\/([^/]+)\.ts$/.exec(path);
  if (root) return root[1]!;
  return path.split("/")[0]!;
}

/** npm packages lib/protocol may use. */
const PROTOCOL_PACKAGES = new Set(["zod", "@hpke/core", "canonicalize"]);
/**
 * The one file of lib/protocol that may use built-ins beyond WebCrypto: the cryptographic
 * primitives on node:crypto (pure computation, no I/O; see its module comment for why).
 */
const PRIMITIVES = "lib/protocol/primitives.ts";
const PRIMITIVE_BUILTINS = new Set(["node:crypto", "node:buffer"]);

/** The violations of design §2 in `edges` (empty when the layering holds). */
export function violations(edges: readonly Edge[]): string[] {
  const out: string[] = [];
  const areaEdges = new Map<string, Set<string>>();
  for (const e of edges) {
    const from = areaOf(e.from);
    const local = e.specifier.startsWith(".");
    const to = local ? areaOf(e.to) : null;
    const what = `${e.from} imports ${e.specifier}`;
    if (from === "protocol") {
      const builtin = e.from === PRIMITIVES && PRIMITIVE_BUILTINS.has(e.specifier);
      if (
        local ? to !== "protocol" : !builtin && !PROTOCOL_PACKAGES.has(packageName(e.specifier))
      ) {
        out.push(`protocol must stay pure: ${what}`);
      }
    }
    if ((from === "relay" && to === "client") || (from === "client" && to === "relay")) {
      out.push(`relay and client share only protocol/store/http: ${what}`);
    }
    if (from === "sdk" && local && to !== "sdk" && to !== "protocol") {
      out.push(`sdk depends on protocol only: ${what}`);
    }
    if (from === "store" && (to === "relay" || to === "client")) {
      out.push(`store is below relay and client: ${what}`);
    }
    if (to !== null && to !== from) {
      if (!areaEdges.has(from)) areaEdges.set(from, new Set());
      areaEdges.get(from)!.add(to);
    }
  }
  for (const cycle of areaCycles(areaEdges)) out.push(`import cycle between areas: ${cycle}`);
  return out;
}

function packageName(specifier: string): string {
  const parts = specifier.replace(/^npm:/, "").split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Each strongly connected group of more than one area, as `a → b → … → a` (Tarjan). */
function areaCycles(graph: Map<string, Set<string>>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push([...group.reverse(), group[0]].join(" → "));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

const ROOT = new URL("../", import.meta.url);

/** Every .ts file under `dir` (repository-relative paths). */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) out.push(...await tsFiles(`${path}/`));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** Resolves a relative specifier against the importing file. */
function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  return new URL(specifier, new URL(from, "file:///repo/")).pathname.replace(/^\/repo\//, "");
}

/** The import graph of the repository's lib/ (and web/, which lib imports) .ts files. */
export async function repoEdges(): Promise<Edge[]> {
  const edges: Edge[] = [];
  for (const file of [...await tsFiles("lib/"), ...await tsFiles("web/")]) {
    const source = await Deno.readTextFile(new URL(file, ROOT));
    for (const specifier of specifiersOf(source)) {
      edges.push({ from: file, to: resolve(file, specifier), specifier });
    }
  }
  return edges;
}

Deno.test("architecture: lib/ follows the layering of design §2", async () => {
  const edges = await repoEdges();
  // The parser sees the graph at all: a known edge of each kind is in it.
  const has = (from: string, specifier: string) =>
    edges.some((e) => e.from === from && e.specifier === specifier);
  assert(has("lib/protocol/schemas.ts", "zod"), "static import");
  assert(has("lib/protocol/mod.ts", "./tasks.ts"), "export … from");
  assert(has("lib/relay/pg_store.ts", "../protocol/mod.ts"), "import(…) type");
  assert(edges.length > 150, `only ${edges.length} edges`);
  assertEquals(violations(edges), []);
});

Deno.test("architecture: the parser finds every import form and skips examples in comments", () => {
  const source = [
    "/**",
    " * @example",
    ' * import { x } from "../relay/mod.ts";',
    " */",
    'import { a } from "./a.ts";',
    "import type { B } from './b.ts';",
    "import {",
    "  c,",
    "  type D,",
    '} from "../store/mod.ts";',
    'export * from "./e.ts";',
    'export { f } from "./f.ts";',
    'import "./side.ts";',
    'import text from "./page.html" with { type: "text" };',
    'const g = await import("./g.ts");',
    'let h: import("./h.ts").H;',
  ].join("\n");
  assertEquals(specifiersOf(source).sort(), [
    "../store/mod.ts",
    "./a.ts",
    "./b.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./page.html",
    "./side.ts",
  ]);
});

/** A synthetic edge from `from` to the file `to`, written as the relative specifier. */
function edge(from: string, to: string): Edge {
  const depth = from.split("/").length - 1;
  const specifier = to.startsWith("lib/") ? "../".repeat(depth) + to : to;
  return { from, to: resolve(from, specifier), specifier };
}

Deno.test("architecture: each forbidden edge, added to the real graph, fails the check", async () => {
  const real = await repoEdges();
  const forbidden: [Edge, string][] = [
    [edge("lib/protocol/tasks.ts", "lib/store/mod.ts"), "protocol must stay pure"],
    [edge("lib/protocol/tasks.ts", "lib/log.ts"), "protocol must stay pure"],
    [edge("lib/protocol/tasks.ts", "node:fs"), "protocol must stay pure"],
    [edge("lib/protocol/crypto.ts", "node:crypto"), "protocol must stay pure"],
    [edge("lib/protocol/primitives.ts", "node:fs"), "protocol must stay pure"],
    [edge("lib/protocol/tasks.ts", "hono"), "protocol must stay pure"],
    [edge("lib/relay/accept.ts", "lib/client/mod.ts"), "relay and client"],
    [edge("lib/client/inbound.ts", "lib/relay/mod.ts"), "relay and client"],
    [edge("lib/sdk/client.ts", "lib/http/mod.ts"), "sdk depends on protocol only"],
    [edge("lib/store/sqlite.ts", "lib/relay/store.ts"), "store is below"],
    [edge("lib/http/json.ts", "lib/client/mod.ts"), "import cycle between areas"],
    [edge("lib/protocol/ids.ts", "lib/protocol/../sdk/mod.ts"), "protocol must stay pure"],
  ];
  for (const [bad, expected] of forbidden) {
    const found = violations([...real, bad]);
    assert(
      found.some((v) => v.includes(expected)),
      `${bad.from} → ${bad.specifier} not reported as "${expected}": ${found.join("; ")}`,
    );
  }
  // And the allowed ones stay allowed.
  for (
    const ok of [
      edge("lib/protocol/tasks.ts", "zod"),
      edge("lib/protocol/crypto.ts", "@hpke/core"),
      edge("lib/sdk/client.ts", "lib/protocol/mod.ts"),
      edge("lib/cli/relay.ts", "lib/client/mod.ts"),
    ]
  ) assertEquals(violations([...real, ok]), [], `${ok.from} → ${ok.specifier}`);
});

Deno.test("architecture: a cycle is named with its areas", () => {
  const found = violations([
    edge("lib/a/x.ts", "lib/b/y.ts"),
    edge("lib/b/y.ts", "lib/c/z.ts"),
    edge("lib/c/z.ts", "lib/a/x.ts"),
    edge("lib/c/z.ts", "lib/protocol/mod.ts"),
  ]);
  assertEquals(found.length, 1, found.join("; "));
  assert(/a → b → c → a/.test(found[0]!), found[0]);
});
