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
