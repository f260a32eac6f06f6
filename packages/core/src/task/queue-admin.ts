import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { decodeCursor, invalidCursor, pageOf } from "../db/cursor";
import { log } from "../log";
import type { LocalQueue } from "./local-queue";

/**
 * What an operator needs of a task queue and its dead letters, behind one port with two
 * adapters: the offline queue on the app database, and a stage's SQS queues.
 */
export interface QueueAdmin {
  kind: "local" | "sqs";
  depth(): Promise<{ messages: { visible: number; total: number }; deadLetters: number | null }>;
  /** Counts and the age of the oldest message, of the task queue and its dead letters. */
  stats(): Promise<QueueStats>;
  /** A look at dead letters that leaves them in place. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /**
   * A page of dead letters, oldest first. The local queue pages by cursor; SQS cannot (a
   * ReceiveMessage gives any up to 10), so it gives one sample of up to `limit` and no cursor.
   */
  deadLetterPage(limit: number, cursor?: string): Promise<DeadLetterPage>;
  /** Moves every dead letter back to the task queue; how many (SQS: null, it runs async). */
  redrive(): Promise<number | null>;
  /** Moves one dead letter back to the task queue; false when there is no such dead letter. */
  redriveOne(id: string): Promise<boolean>;
  /** Deletes one dead letter; false when there is no such dead letter. */
  discard(id: string): Promise<boolean>;
  /** Sends a raw envelope to the task queue, outside any business transaction: its message id. */
  send(body: string): Promise<string>;
}

export interface QueueStats {
  messages: { visible: number; inFlight: number; delayed: number };
  /** The oldest message on the task queue, in seconds; null when empty or not known. */
  oldestAgeSeconds: number | null;
  /** `count` is null when the dead-letter queue is not linked. */
  deadLetters: { count: number | null; oldestAgeSeconds: number | null };
}

export interface DeadLetter {
  id: string;
  body: string;
  receiveCount: number;
  sentAt: string;
}

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  nextCursor: string | null;
}

export function localQueueAdmin(queue: LocalQueue): QueueAdmin {
  const toDeadLetter = (m: Awaited<ReturnType<LocalQueue["deadLetters"]>>[number]) => ({
    id: m.id,
    body: m.body,
    receiveCount: m.receiveCount,
    sentAt: m.sentAt.toISOString(),
  });
  return {
    kind: "local",
    async depth() {
      const { queue: main, deadLetters } = await queue.depth();
      return { messages: { visible: main.visible, total: main.total }, deadLetters };
    },
    stats: () => queue.stats(),
    async deadLetters(limit) {
      return (await queue.deadLetters(limit)).map(toDeadLetter);
    },
    async deadLetterPage(limit, cursor) {
      const { rows, nextCursor } = pageOf(
        await queue.deadLetterPage(limit + 1, cursor ? decodeCursor(cursor) : undefined),
        limit,
        (row) => ({ at: row.cursorAt, id: row.id }),
      );
      return { deadLetters: rows.map(toDeadLetter), nextCursor };
    },
    redrive: () => queue.redrive(),
    redriveOne: (id) => queue.redriveOne(id),
    discard: (id) => queue.discard(id),
    send: (body) => queue.sendRaw(body),
  };
}

/** ReceiveMessage returns at most 10 messages a call. */
const RECEIVE_MAX = 10;
/** Receives while looking for one dead letter; each hides what it got, so each sees others. */
const FIND_RECEIVES = 10;
/** How long a search holds the dead letters it looked at (released as soon as it is done). */
const FIND_VISIBILITY_SECONDS = 30;

export function sqsQueueAdmin(
  urls: { queueUrl: string; deadLetterUrl?: string },
  client = new SQSClient({}),
  metrics = new CloudWatchClient({}),
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

  /**
   * ApproximateAgeOfOldestMessage is no queue attribute: SQS publishes it to CloudWatch (AWS/SQS,
   * by QueueName) each minute while the queue is active. The latest datapoint of the last 15
   * minutes; none (an empty, idle queue) is null. The age is up to a few minutes old.
   */
  async function oldestAges(queueNames: string[]): Promise<(number | null)[]> {
    const end = new Date();
    const start = new Date(end.getTime() - 15 * 60_000);
    try {
      const result = await metrics.send(
        new GetMetricDataCommand({
          StartTime: start,
          EndTime: end,
          ScanBy: "TimestampDescending",
          MetricDataQueries: queueNames.map((name, i) => ({
            Id: `age${i}`,
            MetricStat: {
              Metric: {
                Namespace: "AWS/SQS",
                MetricName: "ApproximateAgeOfOldestMessage",
                Dimensions: [{ Name: "QueueName", Value: name }],
              },
              Period: 60,
              Stat: "Maximum",
            },
            ReturnData: true,
          })),
        }),
      );
      return queueNames.map((_, i) => {
        const series = result.MetricDataResults?.find((r) => r.Id === `age${i}`);
        const latest = series?.Values?.[0];
        return latest === undefined ? null : Math.round(latest);
      });
    } catch (error) {
      // The counts are still worth showing without the ages (a role without
      // cloudwatch:GetMetricData, a CloudWatch outage): said in the log, null in the answer.
      log.warn("queue ages not read from CloudWatch", { error });
      return queueNames.map(() => null);
    }
  }

  const toDeadLetter = (m: Message): DeadLetter => ({
    id: m.MessageId ?? "",
    body: m.Body ?? "",
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? 0)).toISOString(),
  });

  async function peek(limit: number): Promise<DeadLetter[]> {
    const seen = new Map<string, DeadLetter>();
    // A peek: visibility 0 leaves them in place for the redrive. Each call samples some servers,
    // so a few calls see more of a small queue than one does.
    for (let call = 0; call < Math.ceil(limit / RECEIVE_MAX) && seen.size < limit; call++) {
      const result = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterUrl(),
          MaxNumberOfMessages: Math.min(RECEIVE_MAX, limit),
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
        }),
      );
      const messages = result.Messages ?? [];
      if (messages.length === 0) break;
      for (const m of messages) if (m.MessageId) seen.set(m.MessageId, toDeadLetter(m));
    }
    return [...seen.values()].slice(0, limit);
  }

  /**
   * Finds one dead letter by message id: SQS has no get-by-id, so it receives (hiding what it
   * got, so the next receive sees others) until it meets it, hands it to `act` with its receipt
   * handle, and makes every other message it hid visible again.
   */
  async function withDeadLetter(
    id: string,
    act: (message: Message & { ReceiptHandle: string }) => Promise<void>,
  ): Promise<boolean> {
    const url = deadLetterUrl();
    const held: { Id: string; ReceiptHandle: string }[] = [];
    try {
      for (let call = 0; call < FIND_RECEIVES; call++) {
        const result = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: RECEIVE_MAX,
            VisibilityTimeout: FIND_VISIBILITY_SECONDS,
            MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
          }),
        );
        const messages = result.Messages ?? [];
        if (messages.length === 0) return false;
        for (const m of messages) {
          if (!m.ReceiptHandle) continue;
          if (m.MessageId === id) {
            await act({ ...m, ReceiptHandle: m.ReceiptHandle });
            return true;
          }
          held.push({ Id: `m${held.length}`, ReceiptHandle: m.ReceiptHandle });
        }
      }
      return false;
    } finally {
      await release(url, held);
    }
  }

  async function release(url: string, held: { Id: string; ReceiptHandle: string }[]) {
    for (let start = 0; start < held.length; start += RECEIVE_MAX) {
      try {
        await client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: held
              .slice(start, start + RECEIVE_MAX)
              .map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
          }),
        );
      } catch (error) {
        // They come back on their own when the search's visibility timeout ends.
        log.warn("dead letters not released; visible again within 30 s", { error });
      }
    }
  }

  const queueName = (url: string) => url.split("/").at(-1) ?? url;

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
    async stats() {
      const [main, dead, ages] = await Promise.all([
        attributes(urls.queueUrl),
        urls.deadLetterUrl ? attributes(urls.deadLetterUrl) : undefined,
        oldestAges(
          [urls.queueUrl, urls.deadLetterUrl]
            .filter((url): url is string => url !== undefined)
            .map(queueName),
        ),
      ]);
      const n = (value: string | undefined) => Number(value ?? 0);
      return {
        messages: {
          visible: n(main.ApproximateNumberOfMessages),
          inFlight: n(main.ApproximateNumberOfMessagesNotVisible),
          delayed: n(main.ApproximateNumberOfMessagesDelayed),
        },
        oldestAgeSeconds: ages[0] ?? null,
        deadLetters: {
          // Every message of the dead-letter queue, whether a peek just hid it or not.
          count: dead
            ? n(dead.ApproximateNumberOfMessages) +
              n(dead.ApproximateNumberOfMessagesNotVisible) +
              n(dead.ApproximateNumberOfMessagesDelayed)
            : null,
          oldestAgeSeconds: dead ? (ages[1] ?? null) : null,
        },
      };
    },
    deadLetters: (limit) => peek(limit),
    async deadLetterPage(limit, cursor) {
      if (cursor !== undefined) {
        throw invalidCursor("SQS dead letters have no pages: there is no next cursor");
      }
      return { deadLetters: await peek(limit), nextCursor: null };
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
      // No DestinationArn: SQS moves each message back to the queue it came from.
      await client.send(new StartMessageMoveTaskCommand({ SourceArn: arn }));
      return null;
    },
    redriveOne: (id) =>
      withDeadLetter(id, async (m) => {
        // Sent first, deleted after: a failure in between leaves a copy in both, never none
        // (the worker's receipt runs the task once). The id keeps the task's identity: a
        // scheduled task's id is its first message id, which a new message would not carry.
        await client.send(
          new SendMessageCommand({
            QueueUrl: urls.queueUrl,
            MessageBody: withTaskID(m.Body ?? "", id),
          }),
        );
        await client.send(
          new DeleteMessageCommand({ QueueUrl: deadLetterUrl(), ReceiptHandle: m.ReceiptHandle }),
        );
      }),
    discard: (id) =>
      withDeadLetter(id, async (m) => {
        await client.send(
          new DeleteMessageCommand({ QueueUrl: deadLetterUrl(), ReceiptHandle: m.ReceiptHandle }),
        );
      }),
    async send(body) {
      const result = await client.send(
        new SendMessageCommand({ QueueUrl: urls.queueUrl, MessageBody: body }),
      );
      return result.MessageId ?? "";
    },
  };
}

/** The envelope with `id` set to the message id it had, unless it names one (or is no JSON). */
function withTaskID(body: string, messageID: string): string {
  try {
    const envelope = JSON.parse(body) as unknown;
    if (typeof envelope === "object" && envelope !== null && !Array.isArray(envelope)) {
      if (!("id" in envelope)) return JSON.stringify({ ...envelope, id: messageID });
    }
  } catch {
    // Sent as it was: the worker reports what it cannot read.
  }
  return body;
}
