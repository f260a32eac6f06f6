import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { isConnectionError } from "../db/availability";
import { createTransaction } from "../db/transaction";
import { log, withLogContext } from "../log";
import { reportError } from "../observability/error-reporting";
import { Envelope, type TaskHandler } from "./task";
import { taskReceiptTable } from "./task.sql";

/**
 * The SQS handler: the worker Lambda on AWS and the local poller offline call this same function.
 * Each record is validated and run on its own; only the failed ones are reported
 * (ReportBatchItemFailures), so one poison message does not hold back its batch, and SQS sends it
 * to the dead-letter queue after maxReceiveCount tries.
 *
 * A handler runs in a transaction that also records the task's receipt: a second delivery of a
 * task that completed finds the receipt and does nothing, so database effects happen once.
 */
export function createWorker(tasks: readonly TaskHandler[]) {
  const byName = new Map<string, TaskHandler>();
  for (const task of tasks) {
    // Two handlers for one name would make which one runs an accident of list order.
    if (byName.has(task.name)) throw new Error(`task "${task.name}" has two handlers`);
    byName.set(task.name, task);
  }

  async function run(record: SQSRecord, seen: Partial<Envelope>): Promise<void> {
    const envelope = Envelope.parse(JSON.parse(record.body));
    Object.assign(seen, envelope);
    const task = byName.get(envelope.task);
    if (!task) throw new Error(`unknown task "${envelope.task}"`);
    const payload = task.payload.parse(envelope.payload);
    const id = envelope.id ?? record.messageId;
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;

    await withLogContext(
      { task: task.name, taskId: id, requestId: envelope.requestId },
      async () => {
        const started = performance.now();
        const ran = await createTransaction(async (tx) => {
          const first = await tx
            .insert(taskReceiptTable)
            .values({ id, task: task.name })
            .onConflictDoNothing()
            .returning({ id: taskReceiptTable.id });
          if (first.length === 0) return false;
          await task.handler(payload, { id, attempt, requestId: envelope.requestId });
          return true;
        });
        log.info(ran ? "task done" : "task already done, skipped", {
          attempt,
          durationMs: Math.round(performance.now() - started),
        });
      },
    );
  }

  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      await withLogContext({ messageId: record.messageId }, async () => {
        const seen: Partial<Envelope> = {};
        try {
          await run(record, seen);
        } catch (error) {
          batchItemFailures.push({ itemIdentifier: record.messageId });
          // The outage is logged once by db/availability.ts; the task comes back after its
          // visibility timeout, so it is not a bug to report.
          if (isConnectionError(error)) {
            log.warn("task not run: the database is unavailable; it will be delivered again", {
              attempt: record.attributes.ApproximateReceiveCount,
            });
            return;
          }
          log.error("task failed", { error, attempt: record.attributes.ApproximateReceiveCount });
          reportError(error, {
            task: seen.task,
            taskId: seen.id ?? (seen.task ? record.messageId : undefined),
            messageId: record.messageId,
            requestId: seen.requestId,
          });
        }
      });
    }
    return { batchItemFailures };
  };
}

export type Worker = ReturnType<typeof createWorker>;
