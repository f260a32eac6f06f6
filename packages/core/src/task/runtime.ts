import { config } from "../config";
import { createLocalQueue, type LocalQueue } from "./local-queue";
import type { TaskQueue } from "./queue";

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
    if (settings.kind === "sqs") {
      // The SQS SDK loads on the first relay, not at boot: loading it (the Lambda runtime's copy,
      // or the container's) costs more than the rest of a cold start (ADR 022).
      const adapter = once(() =>
        import("./sqs-queue").then((m) => m.createSqsQueue(settings.queueUrl)),
      );
      queue = { send: async (messages) => (await adapter()).send(messages) };
    } else queue = localQueue();
  }
  return queue;
}

export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    if (!loaded) {
      loaded = load();
      // A failed load is tried again on the next call rather than remembered.
      loaded.catch(() => {
        loaded = undefined;
      });
    }
    return loaded;
  };
}
