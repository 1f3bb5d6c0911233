/** HTTP helpers shared by relay and daemon. */
export * from "./json.ts";
