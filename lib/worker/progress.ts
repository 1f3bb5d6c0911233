/**
 * Coalesces a child's output lines into few, bounded `task_progress` sends: at most one send in
 * flight and one per interval, each at most `maxChars`, dropping the oldest lines (with a note
 * saying how many) when the child prints faster than progress may travel. `push` never waits,
 * so the child is never slowed down by the network.
 */

/** Bounds of the coalescer. */
export interface CoalescerOptions {
  /** Least time between two sends. */
  intervalMs: number;
  /** Largest text of one send. */
  maxChars: number;
}

/** Defaults: one progress envelope a second, up to 4,000 characters. */
export const DEFAULT_COALESCER: CoalescerOptions = { intervalMs: 1000, maxChars: 4000 };

/** Coalesces lines into rate- and size-bounded progress texts. */
export class ProgressCoalescer {
  #lines: string[] = [];
  #chars = 0;
  #dropped = 0;
  #lastSent = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | null = null;
  #closed = false;

  /**
   * @param send delivers one text; its failures are reported to `onError` and otherwise
   *   ignored (progress is best effort; the outcome is what counts)
   */
  constructor(
    private readonly send: (text: string) => Promise<void>,
    private readonly opts: CoalescerOptions = DEFAULT_COALESCER,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Adds one line; never blocks. Blank lines are skipped. */
  push(line: string): void {
    if (this.#closed || line.trim() === "") return;
    const cut = line.length > this.opts.maxChars
      ? line.slice(0, this.opts.maxChars - 1) + "…"
      : line;
    this.#lines.push(cut);
    this.#chars += cut.length + 1;
    while (this.#chars > this.opts.maxChars && this.#lines.length > 1) {
      this.#chars -= this.#lines.shift()!.length + 1;
      this.#dropped++;
    }
    this.#schedule();
  }

  /** Sends what is pending (waiting for any send in flight) and stops taking lines. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    if (this.#lines.length) await this.#flush();
  }

  /** Drops what is pending without sending it (a cancelled run says nothing more). */
  discard(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#lines = [];
    this.#chars = 0;
  }

  #schedule() {
    if (this.#timer !== undefined || this.#inFlight) return;
    const wait = Math.max(0, this.#lastSent + this.opts.intervalMs - this.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.#inFlight = this.#flush().finally(() => this.#afterSend());
    }, wait);
  }

  #afterSend() {
    this.#inFlight = null;
    if (this.#lines.length && !this.#closed) this.#schedule();
  }

  async #flush(): Promise<void> {
    if (!this.#lines.length) return;
    const note = () => this.#dropped ? `[… ${this.#dropped} earlier lines skipped]\n` : "";
    // The note counts against the bound too: drop more of the oldest lines to make room.
    while (this.#lines.length > 1 && note().length + this.#chars - 1 > this.opts.maxChars) {
      this.#chars -= this.#lines.shift()!.length + 1;
      this.#dropped++;
    }
    let text = note() + this.#lines.join("\n");
    if (text.length > this.opts.maxChars) text = text.slice(0, this.opts.maxChars);
    this.#lines = [];
    this.#chars = 0;
    this.#dropped = 0;
    this.#lastSent = this.now();
    try {
      await this.send(text);
    } catch (err) {
      this.onError(err);
    }
  }
}
