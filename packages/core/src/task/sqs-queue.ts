import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { log } from "../log";
import { traceAwsCalls } from "../observability/aws-spans";
import type { QueueMessage, TaskQueue } from "./queue";

const BATCH = 10; // SendMessageBatch takes at most 10 entries.
const ATTEMPTS = 3;

/**
 * SQS behind the TaskQueue port: batches of at most 10, and only the failed entries of a
 * partially failed batch are sent again (with backoff). What still fails is reported, so it stays
 * in the outbox for the sweep.
 */
export function createSqsQueue(
  queueUrl: string,
  client = traceAwsCalls(new SQSClient({}), "SQS"),
): TaskQueue {
  return {
    async send(messages) {
      const failed: { id: string; reason: string }[] = [];
      for (let start = 0; start < messages.length; start += BATCH) {
        failed.push(...(await sendBatch(client, queueUrl, messages.slice(start, start + BATCH))));
      }
      return { failed };
    },
  };
}

async function sendBatch(client: SQSClient, queueUrl: string, batch: QueueMessage[]) {
  let pending: SendMessageBatchRequestEntry[] = batch.map((message) => ({
    Id: message.id,
    MessageBody: message.body,
    DelaySeconds: message.delaySeconds,
  }));
  let reasons = new Map<string, string>();
  for (let attempt = 1; attempt <= ATTEMPTS && pending.length > 0; attempt++) {
    if (attempt > 1) await new Promise((wake) => setTimeout(wake, 100 * 2 ** (attempt - 2)));
    try {
      const result = await client.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
      );
      const failedIDs = new Set((result.Failed ?? []).map((entry) => entry.Id));
      reasons = new Map(
        (result.Failed ?? []).map((entry) => [
          entry.Id ?? "",
          entry.Message ?? entry.Code ?? "failed",
        ]),
      );
      pending = pending.filter((entry) => failedIDs.has(entry.Id));
    } catch (error) {
      reasons = new Map(pending.map((entry) => [entry.Id ?? "", String(error)]));
    }
  }
  if (pending.length > 0) log.warn("sqs: entries not sent", { count: pending.length });
  return pending.map((entry) => ({
    id: entry.Id ?? "",
    reason: reasons.get(entry.Id ?? "") ?? "failed",
  }));
}
