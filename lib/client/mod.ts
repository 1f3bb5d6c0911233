/** The daemon: the owner's trust boundary on each machine. */
export { daemonApp } from "./api.ts";
export { dashboardLoginUrl, mountDashboard } from "./dashboard.ts";
export { Daemon, type DaemonConfig } from "./daemon.ts";
export {
  type DaemonStartOptions,
  loadLocalToken,
  type RunningDaemon,
  startDaemon,
} from "./server.ts";
export { CLIENT_MIGRATIONS } from "./schema.ts";
export { verifyChain } from "./tasks.ts";
