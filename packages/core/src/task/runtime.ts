import { config } from "../config";
import { createLocalQueue, type LocalQueue } from "./local-queue";
import type { TaskQueue } from "./queue";
import type { QueueAdmin } from "./queue-admin";

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

let admin: QueueAdmin | undefined;

/** The queue an operator works on: the linked SQS queues, else the local queue. */
export function queueAdmin(): QueueAdmin {
  if (!admin) {
    const settings = config().tasks;
    // Loaded on the first operator call, like the relay's adapter (the SQS one imports the SDK).
    const adapter = once(() =>
      import("./queue-admin").then((m) =>
        settings.kind === "sqs" ? m.sqsQueueAdmin(settings) : m.localQueueAdmin(localQueue()),
      ),
    );
    admin = {
      kind: settings.kind,
      depth: async () => (await adapter()).depth(),
      stats: async () => (await adapter()).stats(),
      deadLetters: async (limit) => (await adapter()).deadLetters(limit),
      deadLetterPage: async (limit, cursor) => (await adapter()).deadLetterPage(limit, cursor),
      redrive: async () => (await adapter()).redrive(),
      redriveOne: async (id) => (await adapter()).redriveOne(id),
      discard: async (id) => (await adapter()).discard(id),
      send: async (body) => (await adapter()).send(body),
    };
  }
  return admin;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
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
