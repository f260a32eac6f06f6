import * as z from "zod";
import { deleteExpired } from "../account/expiry";
import { deleteAbandoned } from "../attachment/attachment";
import { prune as pruneCache } from "../cache/postgres";
import { useTransaction } from "../db/transaction";
import { Limit } from "../limit";
import { Mail } from "../mail";
import { defineTask, prune } from "../task/task";

/** Runs `cleanup`; fired by the maintenance-cleanup-hourly schedule (maintenance.tasks.ts). */
export const cleanupTask = defineTask("maintenance.cleanup", z.strictObject({}));

/**
 * Deletes what has outlived its purpose. Idempotent: running it twice deletes nothing more.
 * Abandoned uploads (pending for an hour) go too, and their objects through tasks.
 */
export async function cleanup(now = new Date()) {
  return useTransaction(async () => {
    const { outboxRows, receipts, steps, runs } = await prune(now);
    return {
      outboxRows,
      receipts,
      taskSteps: steps,
      taskRuns: runs,
      mailLog: await Mail.prune(now),
      ...(await deleteExpired(now)),
      abandonedUploads: await deleteAbandoned(now),
      rateLimitWindows: await Limit.prune(now),
      cacheEntries: await pruneCache(now),
    };
  });
}
