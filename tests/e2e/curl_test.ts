/**
 * The no-install agent recipes: the shell blocks of docs/integrations.md marked
 * `<!-- tested: … -->` run verbatim (bash + curl) against a test world, and must print a message
 * that alice sends to @bob/writer.
 */
import { assert } from "../assert.ts";
import { eventually, startWorld, type World } from "../client/world.ts";

const DOC = new URL("../../docs/integrations.md", import.meta.url);

/** The tested shell blocks of the integration guide, by name. */
function snippets(): Record<string, string> {
  const md = Deno.readTextFileSync(DOC);
  const out: Record<string, string> = {};
  for (const m of md.matchAll(/<!-- tested: ([a-z-]+) -->\s*```sh\n([\s\S]*?)```/g)) {
    out[m[1]!] = m[2]!;
  }
  return out;
}

async function has(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

const tools = {
  curl: await has("curl", ["--version"]),
  bash: await has("bash", ["--version"]),
  setsid: await has("setsid", ["--version"]),
};
const missing = Object.entries(tools).filter(([, ok]) => !ok).map(([name]) => name);
if (missing.length) {
  console.log(`tests/e2e/curl_test.ts: skipped, ${missing.join(", ")} not installed`);
}

/**
 * Runs `script` in its own process group (so curl dies with the loop), as an agent's shell would
 * with bob's daemon: only its agent token and the URL come from the environment.
 */
function runScript(w: World, script: string, agentToken: string) {
  const child = new Deno.Command("setsid", {
    args: ["bash", "-c", script],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: w.bob.home,
      TASKFERRY_HOME: w.bob.home,
      TASKFERRY_CLIENT_URL: w.bob.running.url,
      TASKFERRY_AGENT_TOKEN: agentToken,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  let stderr = "";
  const decoder = () => new TextDecoderStream();
  const reading = Promise.all([
    child.stdout.pipeThrough(decoder()).pipeTo(
      new WritableStream({ write: (s) => void (stdout += s) }),
    ),
    child.stderr.pipeThrough(decoder()).pipeTo(
      new WritableStream({ write: (s) => void (stderr += s) }),
    ),
  ]);
  return {
    output: () => stdout,
    async waitFor(text: string, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) {
          throw new Error(
            `"${text}" not printed in ${ms} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      try {
        Deno.kill(-child.pid, "SIGTERM"); // the whole group: bash, the pipeline, curl
      } catch {
        // already gone
      }
      await child.status;
      await reading;
    },
  };
}

for (const [name, block] of [["long poll", "curl-long-poll"], ["SSE", "curl-sse"]] as const) {
  Deno.test({
    name: `e2e: the documented curl ${name} loop prints an arriving message`,
    ignore: missing.length > 0,
    async fn() {
      const docs = snippets();
      assert(docs["curl-setup"] && docs[block], `docs/integrations.md lacks the ${block} block`);
      const w = await startWorld();
      const listeners = w.bob.running.daemon.events.listenerCount;
      const { token } = await w.bob.api.issueAgentToken("@bob/writer");
      const script = runScript(w, `${docs["curl-setup"]}\n${docs[block]}`, token);
      try {
        // An event stream starts live: send once curl's stream is subscribed.
        if (block === "curl-sse") {
          await eventually(() =>
            Promise.resolve(w.bob.running.daemon.events.listenerCount > listeners)
          );
        }
        const text = `hello from alice over curl (${name}) ${crypto.randomUUID()}`;
        const sent = await w.alice.api.send({ from: "@alice/requester", to: "@bob/writer", text });
        await script.waitFor(text);
        assert(script.output().includes(sent.message.id), "the item's id is printed too");
      } finally {
        await script.stop();
        // Wake a long poll the loop may have left waiting in the daemon, so it closes at once.
        await w.alice.api.send({ from: "@alice/requester", to: "@bob/writer", text: "bye" })
          .catch(() => {});
        await w.close();
      }
    },
  });
}
