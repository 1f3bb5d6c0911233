/** The protocol library: pure, shared by relay, daemon, SDK and dashboard. */
export * from "./base64url.ts";
export * from "./canonical.ts";
export * from "./crypto.ts";
export * from "./errors.ts";
export * from "./frames.ts";
export * from "./handles.ts";
export * from "./ids.ts";
export * from "./json.ts";
export * from "./permissions.ts";
export * from "./schemas.ts";
export * from "./tasks.ts";
export * from "./version.ts";
