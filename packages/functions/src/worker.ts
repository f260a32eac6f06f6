import { createWorker } from "@slipway/core/task/worker";
import { tasks } from "@slipway/core/tasks";

/** The task worker: SQS → this Lambda, batches of 10, partial batch responses (infra/tasks.ts). */
export const handler = createWorker(tasks);
