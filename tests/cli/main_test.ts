import { assert, assertEquals } from "../assert.ts";
import { main } from "../../main.ts";
import { VERSION } from "../../lib/protocol/version.ts";

/** Runs `main(args)` with console.log/error captured; the console is restored afterwards. */
async function runMain(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...parts: unknown[]) => void out.push(parts.map(String).join(" "));
  console.error = (...parts: unknown[]) => void err.push(parts.map(String).join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("--version and -V print the version and exit 0", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await runMain(flag);
    assertEquals(r.code, 0, flag);
    assert(r.stdout.includes(VERSION), r.stdout);
    assert(r.stdout.includes("commit dev"), `a checkout reports commit dev: ${r.stdout}`);
    assertEquals(r.stderr, "");
  }
});

Deno.test("version --json prints JSON", async () => {
  const r = await runMain("version", "--json");
  assertEquals(r.code, 0);
  assertEquals(JSON.parse(r.stdout).version, VERSION);
  assertEquals(JSON.parse(r.stdout).commit, "dev");
});

Deno.test("--help, -h and help print the top help and exit 0", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const r = await runMain(...args);
    assertEquals(r.code, 0, args.join(" "));
    assert(r.stdout.includes("Usage: taskferry"), r.stdout);
    assert(r.stdout.includes("version"), "the command list names version");
  }
});

Deno.test("help <command> and <command> --help print the command's help", async () => {
  for (const args of [["help", "version"], ["version", "--help"], ["version", "-h"]]) {
    const r = await runMain(...args);
    assertEquals(r.code, 0, args.join(" "));
    assert(r.stdout.includes("Usage: taskferry version"), r.stdout);
  }
});

Deno.test("no arguments prints help and exits 2", async () => {
  const r = await runMain();
  assertEquals(r.code, 2);
  assert(r.stdout.includes("Usage: taskferry"));
});

Deno.test("an unknown command exits 2 with a one-line message", async () => {
  for (const args of [["frobnicate"], ["help", "frobnicate"]]) {
    const r = await runMain(...args);
    assertEquals(r.code, 2, args.join(" "));
    assertEquals(r.stdout, "");
    assert(r.stderr.startsWith("taskferry: unknown command 'frobnicate'"), r.stderr);
    assertEquals(r.stderr.split("\n").length, 1);
  }
});

Deno.test("an unknown flag exits 2, top-level or on a command", async () => {
  const top = await runMain("--frobnicate");
  assertEquals(top.code, 2);
  assert(top.stderr.includes("--frobnicate"), top.stderr);

  const sub = await runMain("version", "--frobnicate");
  assertEquals(sub.code, 2);
  assert(sub.stderr.includes("--frobnicate"), sub.stderr);
  assert(sub.stderr.includes("taskferry help version"), "the message points at the help");
});

Deno.test("the console is restored after capture", async () => {
  const { log, error } = console;
  await runMain("--version");
  assertEquals(console.log, log);
  assertEquals(console.error, error);
});

Deno.test("a `--` after the command (deno task x -- --flag) is ignored", async () => {
  const r = await runMain("version", "--", "--json");
  assertEquals(r.code, 0);
  assertEquals(JSON.parse(r.stdout).protocol, 1);
});
