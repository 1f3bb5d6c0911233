/** The daemon: the owner's trust boundary on each machine. */
export { daemonApp } from "./api.ts";
export { dashboardLoginUrl, mountDashboard } from "./dashboard.ts";
export { Daemon, type DaemonConfig, type DaemonOptions } from "./daemon.ts";
export { DEFAULT_DAEMON_OPTIONS } from "./options.ts";
export {
  type DaemonStartOptions,
  loadLocalToken,
  type RunningDaemon,
  startDaemon,
} from "./server.ts";
export { CLIENT_MIGRATIONS, DaemonStore } from "./store/mod.ts";
export { expireDue, verifyChain } from "./tasks/mod.ts";
