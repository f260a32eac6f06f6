import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";

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
 * One row per task delivery that completed, written in the handler's own transaction: a second
 * delivery of the same task (SQS is at-least-once) finds it and does nothing.
 */
export const taskReceiptTable = pgTable("task_receipt", {
  id: text().primaryKey(),
  task: text().notNull(),
  completedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

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
