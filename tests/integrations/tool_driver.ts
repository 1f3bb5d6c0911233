/** A child process that answers one JSON line per request (the plugin drivers in this dir). */
import { childEnv } from "../cli/go_run.ts";

/** A running driver: its first line (what the plugin registered) and a call per line. */
export class ToolDriver {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  #stderr = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) this.#stderr += c;
    })();
  }

  /** Starts `cmd args…` and reads its first line. */
  static async start(cmd: string, args: string[]): Promise<{ driver: ToolDriver; first: unknown }> {
    const child = new Deno.Command(cmd, {
      args,
      env: childEnv({}),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const driver = new ToolDriver(child);
    return { driver, first: await driver.#next() };
  }

  async #next(): Promise<unknown> {
    const r = await this.#lines.next();
    if (r.done) throw new Error(`driver exited:\n${this.#stderr}`);
    return JSON.parse(r.value);
  }

  /** Sends one request line and returns the answer line. */
  async ask(request: unknown): Promise<unknown> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    return await this.#next();
  }

  /** Ends the driver. */
  async close() {
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
    }
  }
}
