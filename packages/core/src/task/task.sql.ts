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
    /** W3C traceparent of the request that queued it: the task's spans and logs continue its trace. */
    traceparent: text(),
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
