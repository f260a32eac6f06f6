import { createWorker } from "@slipway/core/task/worker";
import { tasks } from "@slipway/core/tasks";
import { withErrorReporting } from "./sentry";

/** The task worker: SQS → this Lambda, batches of 10, partial batch responses (infra/tasks.ts). */
export const handler = await withErrorReporting(createWorker(tasks));
