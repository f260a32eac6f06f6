import { handleTask } from "../task/task";
import { deliver, deliverTask } from "./mail";

/** This module's task handlers, for the worker (listed in src/tasks.ts). */
export const mailTasks = [handleTask(deliverTask, (message, task) => deliver(message, task))];
