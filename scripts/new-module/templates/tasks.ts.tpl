import { log } from "../log";
import { handleTask } from "../task/task";
import { createdTask, exists, reportTask, total } from "./__kebab__";

/** This module's task handlers, for the worker (listed in src/tasks.ts). Both only read. */
export const __camel__Tasks = [
  handleTask(createdTask, async ({ id }) => {
    log.info("__words__ created", { id, stillThere: await exists(id) });
  }),
  handleTask(reportTask, async () => {
    log.info("__words__ report", { total: await total() });
  }),
];
