/**
 * The daemon's task projection: commands of local agents and the owner, inbound application,
 * refusal replay, expiry, views and the audit chain — one file each.
 */
export { appendEvent, verifyChain } from "./audit.ts";
export { createTask, decideGate, taskAction, type TaskCommandResult } from "./commands.ts";
export { expireDue } from "./expiry.ts";
export { applyInboundTask, emitInboundTask, type InboundTaskResult } from "./inbound.ts";
export { DEFAULT_LEASE_SECONDS, reofferLapsed } from "./leases.ts";
export { assignClaimed } from "./offers.ts";
export { revertRefusedTaskEvent } from "./refusal.ts";
export { TASK_ACTIONS, type TaskActionName } from "./rules.ts";
export { artifactOf, listTasks, taskDetail, taskView } from "./views.ts";
export { type TaskWaitCondition, waitForTaskState } from "./wait.ts";
