import { log } from "../log";
import { handleTask } from "../task/task";
import { dailyTask, sendDaily } from "./digest";

/** This module's task handlers, for the worker (listed in src/tasks.ts). */
export const digestTasks = [
  handleTask(dailyTask, async () => {
    log.info("daily digest", await sendDaily());
  }),
];
