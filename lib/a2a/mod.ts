/**
 * A2A (Agent2Agent, spec 1.0 as spoken by `@a2a-js/sdk` 1.x; 0.3 method names accepted) at the
 * daemon's edge (design §15): connected remote agents served as A2A servers on the loopback
 * (`a2aApp`), and local A2A server agents driven as TaskFerry workers (`runA2ARound`).
 * Depends on lib/protocol and lib/sdk only.
 */
export * from "./app.ts";
export * from "./card.ts";
export * from "./executor.ts";
export * from "./states.ts";
