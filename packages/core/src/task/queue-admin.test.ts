import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { captureLogs } from "../../test/logs";
import { sqsQueueAdmin } from "./queue-admin";

// SQS and CloudWatch cannot run here: the mocks stand at the AWS SDK's edge, and answer in the
// shapes the APIs document (GetQueueAttributes' string attributes, GetMetricData's series).
const QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/app-TaskQueue";
const DLQ = "https://sqs.eu-west-1.amazonaws.com/123456789012/app-TaskDeadLetters";

const message = (id: string, body = `{"task":"probe.tick","payload":{}}`) => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: body,
  Attributes: { ApproximateReceiveCount: "6", SentTimestamp: "1795305600000" },
});

function mocks() {
  const sqs = mockClient(SQSClient);
  const cloudwatch = mockClient(CloudWatchClient);
  const admin = sqsQueueAdmin(
    { queueUrl: QUEUE, deadLetterUrl: DLQ },
    new SQSClient({}),
    new CloudWatchClient({}),
  );
  return { sqs, cloudwatch, admin };
}

describe("SQS queue admin", () => {
  it("reads counts from GetQueueAttributes and the oldest ages from CloudWatch", async () => {
    const { sqs, cloudwatch, admin } = mocks();
    sqs
      .on(GetQueueAttributesCommand, { QueueUrl: QUEUE })
      .resolves({
        Attributes: {
          ApproximateNumberOfMessages: "7",
          ApproximateNumberOfMessagesNotVisible: "2",
          ApproximateNumberOfMessagesDelayed: "1",
        },
      })
      .on(GetQueueAttributesCommand, { QueueUrl: DLQ })
      .resolves({
        Attributes: {
          ApproximateNumberOfMessages: "3",
          ApproximateNumberOfMessagesNotVisible: "1",
          ApproximateNumberOfMessagesDelayed: "0",
        },
      });
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        // Newest first (ScanBy TimestampDescending): the first value is the latest minute's.
        { Id: "age0", Values: [42.4, 30], Timestamps: [new Date(), new Date()] },
        { Id: "age1", Values: [], Timestamps: [] },
      ],
    });
    expect(await admin.stats()).toEqual({
      messages: { visible: 7, inFlight: 2, delayed: 1 },
      oldestAgeSeconds: 42,
      deadLetters: { count: 4, oldestAgeSeconds: null },
    });
    const query = cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(query?.MetricDataQueries?.map((q) => q.MetricStat)).toEqual([
      {
        Metric: {
          Namespace: "AWS/SQS",
          MetricName: "ApproximateAgeOfOldestMessage",
          Dimensions: [{ Name: "QueueName", Value: "app-TaskQueue" }],
        },
        Period: 60,
        Stat: "Maximum",
      },
      {
        Metric: {
          Namespace: "AWS/SQS",
          MetricName: "ApproximateAgeOfOldestMessage",
          Dimensions: [{ Name: "QueueName", Value: "app-TaskDeadLetters" }],
        },
        Period: 60,
        Stat: "Maximum",
      },
    ]);
  });

  it("still gives the counts when CloudWatch refuses, with the ages unknown", async () => {
    captureLogs();
    const { sqs, cloudwatch, admin } = mocks();
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    cloudwatch.on(GetMetricDataCommand).rejects(new Error("AccessDenied"));
    expect(await admin.stats()).toEqual({
      messages: { visible: 0, inFlight: 0, delayed: 0 },
      oldestAgeSeconds: null,
      deadLetters: { count: 0, oldestAgeSeconds: null },
    });
    expect(cloudwatch.commandCalls(GetMetricDataCommand)).toHaveLength(1);
  });

  it("peeks at dead letters with visibility 0, and has no pages", async () => {
    const { sqs, admin } = mocks();
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message("a"), message("b")] });
    expect(await admin.deadLetterPage(2)).toEqual({
      deadLetters: [
        {
          id: "a",
          body: '{"task":"probe.tick","payload":{}}',
          receiveCount: 6,
          sentAt: "2026-11-22T00:00:00.000Z",
        },
        expect.objectContaining({ id: "b" }),
      ],
      nextCursor: null,
    });
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: DLQ,
      VisibilityTimeout: 0,
      MaxNumberOfMessages: 2,
    });
    await expect(admin.deadLetterPage(2, "anything")).rejects.toMatchObject({
      code: "validation_failed",
    });
  });

  it("redrives one: receives until it finds it, sends it with its task id, deletes it, releases the rest", async () => {
    const { sqs, admin } = mocks();
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message("x"), message("y")] })
      .resolvesOnce({ Messages: [message("target", '{"task":"probe.tick","payload":{}}')] });
    sqs.on(SendMessageCommand).resolves({ MessageId: "new" });
    sqs.on(DeleteMessageCommand).resolves({});
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });

    expect(await admin.redriveOne("target")).toBe(true);
    const receives = sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input);
    expect(receives).toHaveLength(2);
    // Each receive hides what it got, so the next one sees other messages.
    expect(receives[0]).toMatchObject({ QueueUrl: DLQ, VisibilityTimeout: 30 });
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE,
      // A schedule's message had no id: the worker keyed it on this message id, and still will.
      MessageBody: '{"task":"probe.tick","payload":{},"id":"target"}',
    });
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: DLQ,
      ReceiptHandle: "rh-target",
    });
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input).toEqual({
      QueueUrl: DLQ,
      Entries: [
        { Id: "m0", ReceiptHandle: "rh-x", VisibilityTimeout: 0 },
        { Id: "m1", ReceiptHandle: "rh-y", VisibilityTimeout: 0 },
      ],
    });
  });

  it("discards one, and answers false when the queue runs out before it is found", async () => {
    const { sqs, admin } = mocks();
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message("keep")] })
      .resolves({ Messages: [] });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    expect(await admin.discard("gone")).toBe(false);
    expect(sqs.commandCalls(DeleteMessageCommand)).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(sqs.commandCalls(ChangeMessageVisibilityBatchCommand)).toHaveLength(1);

    sqs.reset();
    sqs.on(ReceiveMessageCommand).resolves({ Messages: [message("doomed")] });
    sqs.on(DeleteMessageCommand).resolves({});
    expect(await admin.discard("doomed")).toBe(true);
    expect(sqs.commandCalls(DeleteMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: DLQ,
      ReceiptHandle: "rh-doomed",
    });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("redrives all with StartMessageMoveTask from the dead-letter queue's ARN", async () => {
    const { sqs, admin } = mocks();
    const arn = "arn:aws:sqs:eu-west-1:123456789012:app-TaskDeadLetters";
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: arn } });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "h" });
    expect(await admin.redrive()).toBeNull();
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({
      SourceArn: arn,
    });
  });

  it("sends a raw message and returns its message id", async () => {
    const { sqs, admin } = mocks();
    sqs.on(SendMessageCommand).resolves({ MessageId: "m-42" });
    expect(await admin.send('{"task":"probe.tick","payload":{}}')).toBe("m-42");
  });

  it("names the missing link when the dead-letter queue is not linked", async () => {
    mockClient(SQSClient).on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    mockClient(CloudWatchClient).on(GetMetricDataCommand).resolves({ MetricDataResults: [] });
    const admin = sqsQueueAdmin({ queueUrl: QUEUE }, new SQSClient({}), new CloudWatchClient({}));
    expect((await admin.stats()).deadLetters).toEqual({ count: null, oldestAgeSeconds: null });
    await expect(admin.redriveOne("x")).rejects.toThrow("TaskDeadLetters is not linked");
  });
});
