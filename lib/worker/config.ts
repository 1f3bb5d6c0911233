/** The worker runtime's configuration, shared by the runner, the rounds and the CLI. */
import type { Logger } from "../log.ts";
import type { CoalescerOptions } from "./progress.ts";
import type { Preset } from "./presets.ts";

/** How a worker runs its agent's tasks. */
export interface WorkerConfig {
  /** The local agent whose tasks are run, e.g. `@bob/writer`. */
  agent: string;
  /** The command words (`--exec`, split, no shell); for a preset, its base command. */
  base: string[];
  preset: Preset;
  /** Extra arguments passed through to the command (after the preset's own). */
  extraArgs: string[];
  /** Per-task working directories live here; the worker's state in `<workdir>/.taskferry/`. */
  workdir: string;
  /** Runs at once (1 or more). */
  concurrency: number;
  /** Longest run; undefined for none. */
  timeoutMs?: number;
  /** SIGTERM → SIGKILL grace period when a run is stopped. */
  graceMs: number;
  /** Progress bounds (defaults: see DEFAULT_COALESCER). */
  coalescer?: CoalescerOptions;
  log: Logger;
}

/** Largest failure reason sent, in characters (the protocol's reason fields hold 2,000). */
export const MAX_REASON_CHARS = 2000;
