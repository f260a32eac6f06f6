import { deleteObjectsTask, processTask } from "./attachment";
import { dailyTask } from "./digest";
import { deliverTask } from "./mail";
import { cleanupTask } from "./maintenance";
import type { TaskDefinition } from "./task/task";

/** Every task of the app, one line per module: what the worker can run. */
export const tasks: readonly TaskDefinition[] = [
  cleanupTask,
  deliverTask,
  dailyTask,
  processTask,
  deleteObjectsTask,
];
