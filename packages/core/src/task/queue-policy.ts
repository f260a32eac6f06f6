import type { Schedule } from "./schedule";

/**
 * What the queues on AWS (infra/tasks.ts) and the app (the offline queue, the retention of task
 * records, the schedule messages) must agree on, in one place. Plain data with no package imports:
 * infra loads this file inside SST's config bundle (src/shared-data.test.ts checks it).
 */

/** Deliveries of a task before it becomes a dead letter: the SQS redrive policy's maxReceiveCount. */
export const MAX_RECEIVE_COUNT = 5;

/** Dead letters are kept this long: SQS's maximum retention, so a Monday still finds Friday's. */
export const DEAD_LETTER_RETENTION_DAYS = 14;

/**
 * Task receipts (proof a task ran) are kept one day longer than any copy of the task can live on
 * a queue, so no late duplicate finds its receipt gone and runs again.
 */
export const RECEIPT_RETENTION_DAYS = DEAD_LETTER_RETENTION_DAYS + 1;

/** Relayed outbox rows (and with them their dedup keys) are kept this long. */
export const OUTBOX_RETENTION_DAYS = 7;

/** The message a schedule sends: EventBridge Scheduler's target input, and the offline scheduler's. */
export interface ScheduleMessage {
  task: string;
  payload: unknown;
  schedule: string;
}

export function scheduleMessage(schedule: Schedule): string {
  const message: ScheduleMessage = {
    task: schedule.task,
    payload: schedule.payload,
    schedule: schedule.name,
  };
  return JSON.stringify(message);
}
