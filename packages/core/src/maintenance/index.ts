export * as Maintenance from "./maintenance";
export { maintenanceTasks } from "./maintenance.tasks";
