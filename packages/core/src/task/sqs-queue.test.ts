import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { createSqsQueue } from "./sqs-queue";

// SQS is the one part that cannot run here: the mock stands at the AWS SDK's edge.
const URL = "https://sqs.us-east-1.amazonaws.com/123456789012/tasks";
const messages = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `tsk_${i}`,
    body: `{"n":${i}}`,
    delaySeconds: i % 2,
  }));

describe("SQS sender", () => {
  it("sends at most 10 entries per SendMessageBatch call", async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).callsFake((input) => ({
      Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id })),
      Failed: [],
    }));
    const { failed } = await createSqsQueue(URL, new SQSClient({})).send(messages(23));
    expect(failed).toEqual([]);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Entries?.length)).toEqual([10, 10, 3]);
    expect(calls[0]?.QueueUrl).toBe(URL);
    expect(calls[0]?.Entries?.[1]).toEqual({
      Id: "tsk_1",
      MessageBody: '{"n":1}',
      DelaySeconds: 1,
    });
  });

  it("retries only the failed entries of a partial batch", async () => {
    const sqs = mockClient(SQSClient);
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: "tsk_0", MessageId: "a", MD5OfMessageBody: "" }],
        Failed: [
          { Id: "tsk_1", SenderFault: false, Code: "InternalError" },
          { Id: "tsk_2", SenderFault: false, Code: "InternalError" },
        ],
      })
      .resolves({ Successful: [], Failed: [] });
    const { failed } = await createSqsQueue(URL, new SQSClient({})).send(messages(3));
    expect(failed).toEqual([]);
    const calls = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((call) => call.args[0].input.Entries?.map((e) => e.Id));
    expect(calls).toEqual([
      ["tsk_0", "tsk_1", "tsk_2"],
      ["tsk_1", "tsk_2"],
    ]);
  });

  it("reports what still fails after 3 attempts, so it stays in the outbox", async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).rejects(new Error("network down"));
    const { failed } = await createSqsQueue(URL, new SQSClient({})).send(messages(2));
    expect(failed).toEqual([
      { id: "tsk_0", reason: "Error: network down" },
      { id: "tsk_1", reason: "Error: network down" },
    ]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });
});
