export * as Maintenance from "./maintenance";
export { cleanupTask } from "./maintenance.tasks";
