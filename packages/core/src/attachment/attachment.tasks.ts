import { handleTask } from "../task/task";
import { deleteObjectsTask, processTask } from "./attachment";
import { deleteObjectsOf, processUpload } from "./attachment.worker";

/** This module's task handlers, for the worker (listed in src/tasks.ts). */
export const attachmentTasks = [
  handleTask(processTask, ({ attachmentId }) => processUpload(attachmentId)),
  handleTask(deleteObjectsTask, ({ attachmentId }) => deleteObjectsOf(attachmentId)),
];
