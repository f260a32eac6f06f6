import { createWorker } from "@slipway/core/task/worker";
import { tasks } from "@slipway/core/tasks";
import { withErrorReporting } from "./sentry";

/**
 * The task worker: SQS → this Lambda, batches of 10, partial batch responses (infra/tasks.ts).
 * It connects as the app's role (the AppDatabase link: rows, no DDL) over TLS (DATABASE_SSL).
 */
export const handler = await withErrorReporting(createWorker(tasks));
