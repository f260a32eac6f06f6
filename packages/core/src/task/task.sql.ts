import { sql } from "drizzle-orm";
import {
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { tableAccess } from "../db/table-access";

/**
 * Outbox: a task is recorded in the same transaction as the business write that asks for it,
 * then relayed to the queue after commit (and by the sweep, if the process died in between).
 * Rows are kept after relay for `dedupKey` and for the operator, and pruned by maintenance.
 */
export const taskOutboxTable = pgTable(
  "task_outbox",
  {
    id: text().primaryKey(),
    task: text().notNull(),
    payload: jsonb().notNull(),
    dedupKey: text(),
    requestId: text(),
    availableAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    relayedAt: timestamp({ withTimezone: true }),
  },
  (table) => [
    uniqueIndex("task_outbox_dedup_key").on(table.dedupKey),
    index("task_outbox_pending").on(table.availableAt).where(sql`${table.relayedAt} is null`),
  ],
);

/**
 * One row per task id: the delivery running it holds it until `claimedUntil` (its deadline), and
 * `completedAt` is set once a delivery finished it. A delivery that finds the task completed does
 * nothing; one that finds it held by a live claim fails and comes back later (SQS is at-least-once,
 * and one task can be on the queue twice), so two deliveries of one task never run at once. A
 * failed delivery deletes its claim; a crashed one's claim ends at its deadline.
 */
export const taskReceiptTable = pgTable("task_receipt", {
  id: text().primaryKey(),
  task: text().notNull(),
  claimedUntil: timestamp({ withTimezone: true }),
  completedAt: timestamp({ withTimezone: true }),
});

/**
 * What a task's steps returned (`context.step(name, fn)`): a call that left the process (an email
 * sent, with its provider's id) is recorded here, in its own transaction, as soon as it returned,
 * so a later delivery of the task returns the stored result instead of calling again. Kept as long
 * as receipts, and pruned with them.
 */
export const taskStepTable = pgTable(
  "task_step",
  {
    taskId: text().notNull(),
    name: text().notNull(),
    result: jsonb(),
    completedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.taskId, table.name] })],
);

/**
 * The offline stand-in for SQS (and its dead-letter queue): used only when no queue is linked.
 * Same semantics: delay, visibility timeout, receive count, receipt handles, DLQ after
 * maxReceiveCount.
 */
export const localQueueMessageTable = pgTable(
  "local_queue_message",
  {
    id: text().primaryKey(),
    queue: text().notNull(),
    body: text().notNull(),
    receiveCount: integer().notNull().default(0),
    receiptHandle: text(),
    sentAt: timestamp({ withTimezone: true }).notNull(),
    visibleAt: timestamp({ withTimezone: true }).notNull(),
    firstReceivedAt: timestamp({ withTimezone: true }),
  },
  (table) => [index("local_queue_message_visible").on(table.queue, table.visibleAt)],
);

// A task's payload can quote a mail's body: the table browser hides it whole, and the console's
// dead-letter view shows it scrubbed, key by key (observability/redact.ts scrubPayload).
tableAccess(taskOutboxTable, { sensitive: ["payload"] });
tableAccess(localQueueMessageTable, { sensitive: ["body"] });

/**
 * What an operator asks of a task that failed or that a schedule sent: its last outcome and last
 * error. Written by the worker only for those (a task that just succeeds costs no extra write),
 * one row per task id, and pruned with the receipts. The error is the redacted message, cut short.
 */
export const taskRunOutcomes = ["running", "succeeded", "failed"] as const;

export const taskRunTable = pgTable(
  "task_run",
  {
    id: text().primaryKey(),
    task: text().notNull(),
    /** The schedule that sent it, when one did. */
    schedule: text(),
    /** Deliveries so far (SQS's ApproximateReceiveCount of the last one). */
    attempts: integer().notNull().default(1),
    outcome: text({ enum: taskRunOutcomes }).notNull(),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    finishedAt: timestamp({ withTimezone: true }),
    lastError: text(),
    failedAt: timestamp({ withTimezone: true }),
  },
  (table) => [index("task_run_schedule").on(table.schedule, table.startedAt)],
);
