/** Rule-based demo agents that use only the loopback API. */
export { agentClient, ensureAgent, idempotent } from "./common.ts";
export { type RequesterOptions, runRequester } from "./requester.ts";
export { draft, runWriter } from "./writer.ts";
