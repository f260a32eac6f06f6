import { and, isNotNull, lt } from "drizzle-orm";
import { deleteExpired } from "../account/account";
import { deleteAbandoned } from "../attachment/attachment";
import { useTransaction } from "../db/transaction";
import { taskOutboxTable, taskReceiptTable } from "../task/task.sql";

/** How long relayed outbox rows (dedup keys) and task receipts are kept. */
export const OUTBOX_RETENTION_DAYS = 7;
// Longer than SQS's maximum message retention (14 days), so no late duplicate finds it gone.
export const RECEIPT_RETENTION_DAYS = 15;

const daysAgo = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000);

/**
 * Deletes what has outlived its purpose. Idempotent: running it twice deletes nothing more.
 * Abandoned uploads (pending for an hour) go too, and their objects through tasks.
 */
export async function cleanup(now = new Date()) {
  return useTransaction(async (tx) => {
    const outbox = await tx
      .delete(taskOutboxTable)
      .where(
        and(
          isNotNull(taskOutboxTable.relayedAt),
          lt(taskOutboxTable.relayedAt, daysAgo(now, OUTBOX_RETENTION_DAYS)),
        ),
      )
      .returning({ id: taskOutboxTable.id });
    const receipts = await tx
      .delete(taskReceiptTable)
      .where(lt(taskReceiptTable.completedAt, daysAgo(now, RECEIPT_RETENTION_DAYS)))
      .returning({ id: taskReceiptTable.id });
    return {
      outboxRows: outbox.length,
      receipts: receipts.length,
      ...(await deleteExpired(now)),
      abandonedUploads: await deleteAbandoned(now),
    };
  });
}
