import { config } from "../config";
import type { QueueAdmin } from "./queue-admin";
import { localQueue, once } from "./runtime";

/**
 * The operator's queue, for the API and the tasks CLI. Apart from runtime.ts, which the worker
 * and migrator Lambdas import: neither reaches the admin adapters (and the CloudWatch client
 * they bring), not even as a chunk (infra/tests/lambda-bundles.test.ts).
 */
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
