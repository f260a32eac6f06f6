import { attachmentTasks } from "./attachment";
import { digestTasks } from "./digest";
import { mailTasks } from "./mail";
import { maintenanceTasks } from "./maintenance";
import type { TaskHandler } from "./task/task";

/**
 * Every task handler of the app, one line per module: what the worker can run. The entry points
 * (server.ts offline, the worker Lambda, the tasks CLI) pass this list to the task platform.
 * src/registries.test.ts fails when a module's `*.tasks.ts` handler is missing here.
 */
export const tasks: readonly TaskHandler[] = [
  ...attachmentTasks,
  ...digestTasks,
  ...mailTasks,
  ...maintenanceTasks,
];
