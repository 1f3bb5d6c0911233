// Drives the TaskFerry OpenClaw plugin (integrations/openclaw-plugin) with the stand-in SDK:
// prints the plugin's tools, then answers JSON lines {env, tool, args} with {ok, result|error}.
// The plugin's path comes as an argument, so that type-checking tests/ does not follow it into
// imports only the stand-in import map resolves.
import process from "node:process";

const plugin = (await import(new URL(Deno.args[0], import.meta.url).href)).default;

const out = (v) => console.log(JSON.stringify(v));
out({
  id: plugin.id,
  tools: plugin.tools.map((t) => ({ name: t.name, label: t.label, parameters: t.parameters })),
});
const decoder = new TextDecoder();
let buffer = "";
for await (const chunk of Deno.stdin.readable) {
  buffer += decoder.decode(chunk, { stream: true });
  let nl;
  while ((nl = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    const { env, tool, args, abort } = JSON.parse(line);
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
    const t = plugin.tools.find((x) => x.name === tool);
    const ac = new AbortController();
    if (abort) ac.abort();
    try {
      out({ ok: true, result: await t.execute(args, {}, { signal: ac.signal }) });
    } catch (err) {
      out({ ok: false, error: err.message, name: err.name });
    }
  }
}
