/** The passphrase typed on the terminal, without echo. */
import { type KeySource, KeySourceError } from "./key_source.ts";

const ENTER = [0x0d, 0x0a];
const BACKSPACE = [0x08, 0x7f];
const CTRL_C = 0x03;
const CTRL_D = 0x04;

/**
 * Asks on the terminal (stderr for the question, stdin in raw mode for the answer). With no
 * terminal there is nobody to ask: `get` gives null. `confirm` asks twice (when choosing one).
 */
export class PromptSource implements KeySource {
  readonly label = "terminal prompt";
  constructor(private readonly question: string, private readonly confirm = false) {}

  async get(): Promise<string | null> {
    if (!Deno.stdin.isTerminal()) return null;
    const first = await ask(this.question);
    if (first === "") throw new KeySourceError("an empty passphrase protects nothing");
    if (this.confirm && (await ask("Repeat it: ")) !== first) {
      throw new KeySourceError("the two passphrases differ; nothing changed");
    }
    return first;
  }

  set(): Promise<void> {
    return Promise.reject(new KeySourceError("a prompt cannot store a secret"));
  }
}

/** One line typed without echo; Ctrl-C or Ctrl-D abandons. */
async function ask(question: string): Promise<string> {
  const enc = new TextEncoder();
  // Raw (no echo) before the question: what is typed once it shows must not be echoed.
  Deno.stdin.setRaw(true);
  Deno.stderr.writeSync(enc.encode(question));
  const typed: number[] = [];
  try {
    const buf = new Uint8Array(64);
    for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) throw new KeySourceError("the terminal closed before a passphrase was typed");
      for (const b of buf.subarray(0, n)) {
        if (ENTER.includes(b)) return new TextDecoder().decode(new Uint8Array(typed));
        if (b === CTRL_C || b === CTRL_D) throw new KeySourceError("passphrase prompt abandoned");
        if (BACKSPACE.includes(b)) typed.pop();
        else typed.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(enc.encode("\n"));
    forget(typed);
  }
}

/** Forgets the typed bytes (the string result is all that remains). */
function forget(bytes: number[]) {
  bytes.fill(0);
}
