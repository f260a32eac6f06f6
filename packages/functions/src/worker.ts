import { flushMetrics } from "@slipway/core/observability/metrics";
import { createWorker } from "@slipway/core/task/worker";
import { tasks } from "@slipway/core/tasks";
import { withErrorReporting } from "./sentry";

/**
 * The task worker: SQS → this Lambda, batches of 10, partial batch responses (infra/tasks.ts).
 * It connects as the app's role (the AppDatabase link: rows, no DDL) over TLS (DATABASE_SSL).
 */
const worker = createWorker(tasks);

/**
 * The batch's task metrics are written as EMF lines before it returns: Lambda may freeze the
 * process right after, and a frozen timer never fires (ADR 030).
 */
export const handler = await withErrorReporting(async (...args: Parameters<typeof worker>) => {
  try {
    return await worker(...args);
  } finally {
    flushMetrics();
  }
});
