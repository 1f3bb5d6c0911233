/** The typed SDK of the daemon's loopback API. */
export * from "./client.ts";
