/** The relay: routes sealed envelopes between daemons without reading them. */
export { relayApp } from "./app.ts";
export { DEFAULT_RELAY_OPTIONS, type RelayOptions } from "./options.ts";
export { Relay } from "./relay.ts";
export { type RunningRelay, startRelay } from "./server.ts";
export { openSqliteRelayStore, RELAY_MIGRATIONS } from "./sqlite_store.ts";
export type * from "./store.ts";
export { generateToken, hashToken, setupUrl, tokenClient } from "./tokens.ts";
