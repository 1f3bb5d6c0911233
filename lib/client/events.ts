/**
 * The daemon's event bus: everything that happens is emitted once, fanned out to SSE streams
 * and long-poll waiters, and kept in a bounded ring so a reconnecting stream can resume from
 * `Last-Event-ID`.
 */

/** Kinds of daemon events. */
export type DaemonEventType =
  | "inbox"
  | "message_state"
  | "task"
  | "task_progress"
  | "connection"
  | "agent"
  | "relay"
  | "quarantine"
  | "file";

/** One event as streamed. */
export interface DaemonEvent {
  id: number;
  type: DaemonEventType;
  /** The local agent it concerns, when there is one (streams can filter on it). */
  agent?: string;
  data: Record<string, unknown>;
}

const RING_SIZE = 2000;

/** Fan-out of daemon events. */
export class EventBus {
  private nextId = 1;
  private readonly ring: DaemonEvent[] = [];
  private readonly listeners = new Set<(e: DaemonEvent) => void>();

  /** Emits an event to every listener. */
  emit(type: DaemonEventType, data: Record<string, unknown>, agent?: string) {
    const event: DaemonEvent = { id: this.nextId++, type, data };
    if (agent !== undefined) event.agent = agent;
    this.ring.push(event);
    if (this.ring.length > RING_SIZE) this.ring.shift();
    for (const l of this.listeners) l(event);
  }

  /** Calls `fn` for each future event; returns the unsubscribe function. */
  subscribe(fn: (e: DaemonEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Buffered events after `id` (for SSE resume). */
  since(id: number): DaemonEvent[] {
    return this.ring.filter((e) => e.id > id);
  }

  /** Resolves when an event matching `match` arrives or after `ms` (false on timeout). */
  waitFor(match: (e: DaemonEvent) => boolean, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      const unsubscribe = this.subscribe((e) => {
        if (match(e)) done(true);
      });
      signal?.addEventListener("abort", onAbort);
    });
  }

  /** Number of live subscribers. */
  get listenerCount(): number {
    return this.listeners.size;
  }
}
