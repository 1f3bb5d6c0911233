/**
 * Relay blob storage (design §12): the store interface and its two implementations, the rules,
 * the service that applies them, and the HTTP routes.
 */
export * from "./disk_store.ts";
export * from "./pg_store.ts";
export * from "./routes.ts";
export * from "./rules.ts";
export * from "./service.ts";
export * from "./store.ts";
export * from "./sweeper.ts";
