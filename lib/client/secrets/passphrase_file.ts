/** The passphrase in a file (`TASKFERRY_PASSPHRASE_FILE`, e.g. a systemd credential). */
import { logger } from "../../log.ts";
import { type KeySource, KeySourceError } from "./key_source.ts";

const log = logger("daemon");

/** Reads the passphrase from `path`: the file's text without one trailing newline. */
export class PassphraseFileSource implements KeySource {
  readonly label: string;
  constructor(private readonly path: string) {
    this.label = `passphrase file ${path}`;
  }

  get(): Promise<string | null> {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.path);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "does not exist" : (err as Error).message;
      return Promise.reject(
        new KeySourceError(`cannot read ${this.label}: ${why}; check TASKFERRY_PASSPHRASE_FILE`),
      );
    }
    const mode = Deno.build.os === "windows" ? 0 : (Deno.statSync(this.path).mode ?? 0) & 0o077;
    if (mode !== 0) {
      log.warn("the passphrase file is readable by other users; chmod 600 it", {
        path: this.path,
      });
    }
    const passphrase = text.replace(/\r?\n$/, "");
    if (passphrase === "") {
      return Promise.reject(new KeySourceError(`${this.label} is empty`));
    }
    return Promise.resolve(passphrase);
  }

  set(): Promise<void> {
    return Promise.reject(new KeySourceError(`${this.label} is read-only`));
  }
}
