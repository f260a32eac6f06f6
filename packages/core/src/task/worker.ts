import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { and, eq, isNull, lte, or } from "drizzle-orm";
import { config } from "../config";
import { isConnectionError } from "../db/availability";
import { createTransaction, inTransaction, useTransaction } from "../db/transaction";
import { log, withLogContext } from "../log";
import { reportError } from "../observability/error-reporting";
import { recordTask } from "../observability/metrics";
import { finishTrace, parseTraceparent, startTrace, type Trace } from "../observability/trace";
import { Envelope, type Json, type TaskContext, type TaskHandler } from "./task";
import { taskReceiptTable, taskStepTable } from "./task.sql";

/**
 * The SQS handler: the worker Lambda on AWS and the local poller offline call this same function.
 * Each record is validated and run on its own; only the failed ones are reported
 * (ReportBatchItemFailures), so one poison message does not hold back its batch, and SQS sends it
 * to the dead-letter queue after maxReceiveCount tries.
 *
 * No transaction is open while a handler runs, so a call that leaves the process (S3, SES) never
 * holds one of the worker's pooled connections. Instead:
 * - a delivery first claims the task's receipt, in a statement of its own, until its deadline (the
 *   Lambda's remaining time; offline, the visibility timeout). A task already completed is
 *   skipped; one claimed by a live delivery fails without running and comes back later, so two
 *   deliveries of one task never run at once. A failed run deletes its claim, so a retry can run.
 * - the handler writes in short transactions of its own (`createTransaction`), each idempotent by
 *   construction (a conditional update, an insert keyed on the task id), so that a delivery that
 *   runs again after a crash changes nothing twice;
 * - a call that leaves the process goes through `context.step(name, fn)`: its result is recorded
 *   in its own transaction as soon as it returns, and a later delivery gets it back without calling;
 * - when the handler returns, the receipt is marked completed, in its own statement.
 * What a crash can still repeat is the window between a call succeeding and its record committing.
 */

/** Where no Lambda deadline and no offline visibility timeout say: the worker Lambda's timeout. */
const DEFAULT_CLAIM_SECONDS = 60;

export interface WorkerOptions {
  /** The clock claims are written and read with (tests move it, as they move the local queue's). */
  clock?: () => Date;
  /** How long a delivery holds its task when the Lambda context gives no deadline. */
  claimSeconds?: number;
}

/** What a failed record's report can say: the envelope as far as it was read, and its trace. */
type Seen = Partial<Envelope> & { trace?: Trace };

/** Another delivery of the same task is running it: this one comes back after its visibility timeout. */
export class TaskInProgress extends Error {
  override name = "TaskInProgress";
}

export function createWorker(tasks: readonly TaskHandler[], options: WorkerOptions = {}) {
  const byName = new Map<string, TaskHandler>();
  for (const task of tasks) {
    // Two handlers for one name would make which one runs an accident of list order.
    if (byName.has(task.name)) throw new Error(`task "${task.name}" has two handlers`);
    byName.set(task.name, task);
  }
  const clock = options.clock ?? (() => new Date());

  function claimSeconds(): number {
    if (options.claimSeconds !== undefined) return options.claimSeconds;
    const tasksConfig = config().tasks;
    // Offline a message comes back after its visibility timeout: a crashed delivery's claim has
    // ended by then (at worst one delivery later).
    return tasksConfig.kind === "local"
      ? tasksConfig.visibilityTimeoutSeconds
      : DEFAULT_CLAIM_SECONDS;
  }

  async function run(record: SQSRecord, seen: Seen, deadline: Date): Promise<void> {
    const envelope = Envelope.parse(JSON.parse(record.body));
    Object.assign(seen, envelope);
    const task = byName.get(envelope.task);
    if (!task) throw new Error(`unknown task "${envelope.task}"`);
    const payload = task.payload.parse(envelope.payload);
    const id = envelope.id ?? record.messageId;
    const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
    // The request's trace, continued (its sampling decision too: the outbox is ours); a task
    // with none (a schedule's) starts its own.
    const trace = startTrace(parseTraceparent(envelope.traceparent), true);
    seen.trace = trace;
    let ok = false;

    await withLogContext(
      { task: task.name, taskId: id, requestId: envelope.requestId },
      async () => {
        const started = performance.now();
        const claim = await claimTask(id, task.name, deadline);
        if (claim === "completed") {
          ok = true;
          log.info("task already done, skipped", { attempt });
          return;
        }
        if (claim === "held") {
          throw new TaskInProgress(`task ${id} is being run by another delivery`);
        }
        try {
          // Tests run the worker inside their own transaction; deployed and offline, none is open.
          const ambient = inTransaction();
          const context: TaskContext = {
            id,
            attempt,
            requestId: envelope.requestId,
            step: (name, fn) => runStep(id, name, fn, ambient),
          };
          await task.handler(payload, context);
          await createTransaction((tx) =>
            tx
              .update(taskReceiptTable)
              .set({ completedAt: new Date(), claimedUntil: null })
              .where(eq(taskReceiptTable.id, id)),
          );
        } catch (error) {
          await releaseClaim(id);
          throw error;
        }
        ok = true;
        log.info("task done", { attempt, durationMs: Math.round(performance.now() - started) });
      },
      trace,
    ).finally(() => {
      if (trace.spans) {
        finishTrace(trace, {
          op: "queue.task",
          name: task.name,
          ok,
          data: {
            task: task.name,
            taskId: id,
            attempt,
            ...(envelope.requestId ? { requestId: envelope.requestId } : {}),
          },
        });
      }
    });
  }

  /**
   * Takes the task's receipt until `deadline`: a new row, or one whose claim has ended (its
   * delivery crashed). One statement, so the claim commits before the handler starts.
   */
  async function claimTask(
    id: string,
    task: string,
    deadline: Date,
  ): Promise<"claimed" | "completed" | "held"> {
    const now = clock();
    const claimed = await useTransaction(async (tx) =>
      tx
        .insert(taskReceiptTable)
        .values({ id, task, claimedUntil: deadline })
        .onConflictDoUpdate({
          target: taskReceiptTable.id,
          set: { claimedUntil: deadline },
          setWhere: and(
            isNull(taskReceiptTable.completedAt),
            or(isNull(taskReceiptTable.claimedUntil), lte(taskReceiptTable.claimedUntil, now)),
          ),
        })
        .returning({ id: taskReceiptTable.id }),
    );
    if (claimed.length > 0) return "claimed";
    const [row] = await useTransaction(async (tx) =>
      tx
        .select({ completedAt: taskReceiptTable.completedAt })
        .from(taskReceiptTable)
        .where(eq(taskReceiptTable.id, id)),
    );
    return row?.completedAt ? "completed" : "held";
  }

  /** A failed run lets the next delivery in at once; if this fails too, the claim just ends later. */
  async function releaseClaim(id: string) {
    try {
      await useTransaction(async (tx) =>
        tx
          .delete(taskReceiptTable)
          .where(and(eq(taskReceiptTable.id, id), isNull(taskReceiptTable.completedAt))),
      );
    } catch (error) {
      log.warn("task claim not released; it ends at its deadline", { error });
    }
  }

  return async function handler(
    event: SQSEvent,
    lambda?: Pick<Context, "getRemainingTimeInMillis">,
  ): Promise<SQSBatchResponse> {
    // A delivery can run no longer than its invocation (on Lambda), so it holds its task until then.
    const holdMs = lambda ? lambda.getRemainingTimeInMillis() : claimSeconds() * 1000;
    const deadline = new Date(clock().getTime() + holdMs);
    const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
    for (const record of event.Records) {
      await withLogContext({ messageId: record.messageId }, async () => {
        const seen: Seen = {};
        const started = performance.now();
        // How long it waited in the queue (SQS's SentTimestamp; the local queue sets it too).
        const sent = Number(record.attributes.SentTimestamp);
        const queueAgeMs = sent > 0 ? Math.max(0, clock().getTime() - sent) : undefined;
        const measure = (failed: boolean) =>
          recordTask(seen.task ?? "other", performance.now() - started, failed, queueAgeMs);
        try {
          await run(record, seen, deadline);
          measure(false);
        } catch (error) {
          // A duplicate delivery of a task another one is running is no failure of the task.
          measure(!(error instanceof TaskInProgress));
          batchItemFailures.push({ itemIdentifier: record.messageId });
          const receives = record.attributes.ApproximateReceiveCount;
          // The outage is logged once by db/availability.ts; the task comes back after its
          // visibility timeout, so it is not a bug to report.
          if (isConnectionError(error)) {
            log.warn("task not run: the database is unavailable; it will be delivered again", {
              attempt: receives,
            });
            return;
          }
          // A duplicate of a task another delivery is running: it finds the task done next time.
          if (error instanceof TaskInProgress) {
            log.warn("task not run: another delivery is running it; it will be delivered again", {
              attempt: receives,
            });
            return;
          }
          log.error("task failed", { error, attempt: receives });
          reportError(error, {
            task: seen.task,
            taskId: seen.id ?? (seen.task ? record.messageId : undefined),
            messageId: record.messageId,
            requestId: seen.requestId,
            traceId: seen.trace?.traceId,
            spanId: seen.trace?.spanId,
          });
        }
      });
    }
    return { batchItemFailures };
  };
}

/**
 * `context.step`: the recorded result when a delivery of this task already ran the step, else
 * `fn()` (outside any transaction), recorded in a transaction of its own before it is returned.
 */
async function runStep<T extends Json>(
  taskId: string,
  name: string,
  fn: () => Promise<T>,
  ambient: boolean,
): Promise<T> {
  if (!ambient && inTransaction()) {
    throw new Error(
      `step "${name}" was called inside a transaction: a call that leaves the process must not hold a database connection`,
    );
  }
  const stepOf = and(eq(taskStepTable.taskId, taskId), eq(taskStepTable.name, name));
  const [done] = await useTransaction(async (tx) =>
    tx.select({ result: taskStepTable.result }).from(taskStepTable).where(stepOf),
  );
  if (done) {
    log.info("task step already done, not repeated", { step: name });
    return done.result as T;
  }
  const result = await fn();
  // Returned as stored (JSON), so this delivery and any later one see the same value.
  return createTransaction(async (tx) => {
    const [recorded] = await tx
      .insert(taskStepTable)
      .values({ taskId, name, result })
      .onConflictDoNothing()
      .returning({ result: taskStepTable.result });
    if (recorded) return recorded.result as T;
    // Another delivery recorded it first (possible only once this one's claim had ended).
    const [first] = await tx
      .select({ result: taskStepTable.result })
      .from(taskStepTable)
      .where(stepOf);
    return first?.result as T;
  });
}

export type Worker = ReturnType<typeof createWorker>;
