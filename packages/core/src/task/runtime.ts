import { config } from "../config";
import { createLocalQueue, type LocalQueue } from "./local-queue";
import type { TaskQueue } from "./queue";
import { localQueueAdmin, type QueueAdmin, sqsQueueAdmin } from "./queue-admin";
import { createSqsQueue } from "./sqs-queue";

/** Names of the offline queues (the AWS ones are in infra/tasks.ts). */
export const LOCAL_QUEUE = "tasks";
export const LOCAL_DEAD_LETTER_QUEUE = "tasks-dead-letters";

let local: LocalQueue | undefined;
let queue: TaskQueue | undefined;

/** The offline queue on the app database; only when no SQS queue is linked. */
export function localQueue(): LocalQueue {
  const settings = config().tasks;
  if (settings.kind !== "local") throw new Error("tasks go to SQS here, not to the local queue");
  local ??= createLocalQueue({
    queue: LOCAL_QUEUE,
    deadLetterQueue: LOCAL_DEAD_LETTER_QUEUE,
    maxReceiveCount: settings.maxReceiveCount,
    visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
  });
  return local;
}

/** Where the outbox relays to: the linked SQS queue, else the local queue. */
export function taskQueue(): TaskQueue {
  if (!queue) {
    const settings = config().tasks;
    queue = settings.kind === "sqs" ? createSqsQueue(settings.queueUrl) : localQueue();
  }
  return queue;
}

let admin: QueueAdmin | undefined;

/** The queue an operator works on: the linked SQS queues, else the local queue. */
export function queueAdmin(): QueueAdmin {
  if (!admin) {
    const settings = config().tasks;
    admin = settings.kind === "sqs" ? sqsQueueAdmin(settings) : localQueueAdmin(localQueue());
  }
  return admin;
}
