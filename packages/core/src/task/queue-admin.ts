import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { LocalQueue } from "./local-queue";

/**
 * What an operator needs of a task queue and its dead letters, behind one port with two
 * adapters: the offline queue on the app database, and a stage's SQS queues.
 */
export interface QueueAdmin {
  kind: "local" | "sqs";
  depth(): Promise<{ messages: { visible: number; total: number }; deadLetters: number | null }>;
  /** A look at dead letters that leaves them in place. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** Moves every dead letter back to the task queue; how many (SQS: null, it runs async). */
  redrive(): Promise<number | null>;
  /** Sends a raw envelope to the task queue, outside any business transaction. */
  send(body: string): Promise<void>;
}

export interface DeadLetter {
  id: string;
  body: string;
  receiveCount: number;
  sentAt: string;
}

export function localQueueAdmin(queue: LocalQueue): QueueAdmin {
  return {
    kind: "local",
    async depth() {
      const { queue: main, deadLetters } = await queue.depth();
      return { messages: { visible: main.visible, total: main.total }, deadLetters };
    },
    async deadLetters(limit) {
      return (await queue.deadLetters(limit)).map((m) => ({
        id: m.id,
        body: m.body,
        receiveCount: m.receiveCount,
        sentAt: m.sentAt.toISOString(),
      }));
    },
    redrive: () => queue.redrive(),
    async send(body) {
      await queue.sendRaw(body);
    },
  };
}

export function sqsQueueAdmin(
  urls: { queueUrl: string; deadLetterUrl?: string },
  client = new SQSClient({}),
): QueueAdmin {
  const attributes = async (url: string) =>
    (
      await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
          ],
        }),
      )
    ).Attributes ?? {};

  const deadLetterUrl = (): string => {
    if (!urls.deadLetterUrl) {
      throw new Error(
        "TaskDeadLetters is not linked: run through `npx sst shell --stage <stage> --`",
      );
    }
    return urls.deadLetterUrl;
  };

  return {
    kind: "sqs",
    async depth() {
      const main = await attributes(urls.queueUrl);
      const visible = Number(main.ApproximateNumberOfMessages ?? 0);
      const total =
        visible +
        Number(main.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(main.ApproximateNumberOfMessagesDelayed ?? 0);
      const dead = urls.deadLetterUrl
        ? Number((await attributes(urls.deadLetterUrl)).ApproximateNumberOfMessages ?? 0)
        : null;
      return { messages: { visible, total }, deadLetters: dead };
    },
    async deadLetters(limit) {
      // A peek: visibility 0 leaves them in place for the redrive.
      const result = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterUrl(),
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
        }),
      );
      return (result.Messages ?? []).slice(0, limit).map((m) => ({
        id: m.MessageId ?? "",
        body: m.Body ?? "",
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
        sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? 0)).toISOString(),
      }));
    },
    async redrive() {
      const arn = (
        await client.send(
          new GetQueueAttributesCommand({
            QueueUrl: deadLetterUrl(),
            AttributeNames: ["QueueArn"],
          }),
        )
      ).Attributes?.QueueArn;
      await client.send(new StartMessageMoveTaskCommand({ SourceArn: arn }));
      return null;
    },
    async send(body) {
      await client.send(new SendMessageCommand({ QueueUrl: urls.queueUrl, MessageBody: body }));
    },
  };
}
