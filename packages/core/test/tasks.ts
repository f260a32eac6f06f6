import { createHash } from "node:crypto";
import type { SQSEvent } from "aws-lambda";
import { expect } from "vitest";
import { localQueue } from "../src/task/runtime";
import { relay, type TaskHandler } from "../src/task/task";
import { createWorker } from "../src/task/worker";

/**
 * Relays the outbox and runs what is queued until nothing is left, as the dev runtime or SQS +
 * Lambda would. Every task must succeed.
 */
export async function drain(tasks: readonly TaskHandler[]) {
  const worker = createWorker(tasks);
  for (;;) {
    // Again each round: tasks enqueue tasks, and inside a test's rollback their after-commit relay
    // waits for a commit that never comes.
    await relay();
    const batch = await localQueue().receive(10);
    if (batch.length === 0) return;
    const { batchItemFailures } = await worker(localQueue().toEvent(batch));
    expect(batchItemFailures).toEqual([]);
    await localQueue().delete(batch.map((m) => m.receiptHandle));
  }
}

/**
 * One SQS delivery of `envelope` (as the queue would hand it to the worker): `messageId` differs
 * per copy of a task on the queue, `receiveCount` counts deliveries of one copy.
 */
export function delivery(
  envelope: { task: string; payload: unknown; id?: string; traceparent?: string },
  { messageId = "m-1", receiveCount = 1 }: { messageId?: string; receiveCount?: number } = {},
): SQSEvent {
  const body = JSON.stringify(envelope);
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId,
        receiptHandle: `rh-${messageId}-${receiveCount}`,
        body,
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: now,
          SenderId: "test",
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: createHash("md5").update(body).digest("hex"),
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:local:000000000000:tasks",
        awsRegion: "local",
      },
    ],
  };
}
