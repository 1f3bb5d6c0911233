/** The worker runtime (design §11): runs a local agent's tasks as child processes. */
export { loopbackWorkerApi, type WorkerApi } from "./api.ts";
export type { WorkerConfig } from "./config.ts";
export { acquireWorkerLock } from "./lock.ts";
export { PRESET_NAMES, presetFor } from "./presets.ts";
export { Worker } from "./runner.ts";
export { runWake, type WakeOptions } from "./wake.ts";
export { splitWords } from "./words.ts";
