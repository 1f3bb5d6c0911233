/**
 * Runs the blob sweep (BlobService.sweep) on a timer, shaped as a relay companion so the relay
 * wires it with one line: `relay.attachCompanion(blobSweeper(blobs))`. A sweep that fails is
 * logged and retried at the next tick; sweeps never overlap; stop waits for a running one.
 */
import { logger } from "../../log.ts";
import type { BlobService } from "./service.ts";

const log = logger("relay-blobs");

/** Options of {@link blobSweeper}. */
export interface SweeperOptions {
  /** Time between sweeps; default one minute, like the relay's envelope sweep. */
  intervalMs?: number;
  /** Called after each sweep with the number of blobs removed (tests await it). */
  onSwept?: (removed: number) => void;
}

/** A relay companion that sweeps expired blobs every `intervalMs`. */
export function blobSweeper(blobs: BlobService, options: SweeperOptions = {}) {
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running = blobs.sweep().then(
      (removed) => options.onSwept?.(removed),
      (err) => log.error("blob sweep failed", { err }),
    ).finally(() => busy = false);
  };
  return {
    start() {
      timer ??= setInterval(tick, options.intervalMs ?? 60_000);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
