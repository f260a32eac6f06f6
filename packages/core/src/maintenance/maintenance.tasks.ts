import { log } from "../log";
import { handleTask } from "../task/task";
import { cleanup, cleanupTask } from "./maintenance";

/** This module's task handlers, for the worker (listed in src/tasks.ts). */
export const maintenanceTasks = [
  handleTask(cleanupTask, async () => {
    log.info("maintenance cleanup", await cleanup());
  }),
];
