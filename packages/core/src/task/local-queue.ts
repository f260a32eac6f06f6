import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { and, asc, count, eq, getTableColumns, inArray, lte, min, sql } from "drizzle-orm";
import { beyond, cursorTime, type Position } from "../db/cursor";
import { createTransaction, useTransaction } from "../db/transaction";
import type { QueueMessage, TaskQueue } from "./queue";
import { localQueueMessageTable as message } from "./task.sql";

/**
 * SQS semantics on the app's own database, for offline runs: delivery delay, visibility timeout,
 * receipt handles that change on each receive, ApproximateReceiveCount, and a dead-letter queue
 * the message moves to on the receive after maxReceiveCount deliveries (SQS's redrive policy).
 * Durable: a restart loses nothing, and a message whose receiver died is delivered again once
 * its visibility timeout has passed.
 */

export interface LocalQueueOptions {
  queue: string;
  deadLetterQueue: string;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** Injected in tests; the wall clock otherwise. */
  clock?: () => Date;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  receiveCount: number;
  sentAt: Date;
  firstReceivedAt: Date;
}

export type LocalQueue = ReturnType<typeof createLocalQueue>;

export function createLocalQueue(options: LocalQueueOptions) {
  const now = options.clock ?? (() => new Date());

  async function sendTo(queue: string, messages: Pick<QueueMessage, "body" | "delaySeconds">[]) {
    if (messages.length === 0) return [];
    const sentAt = now();
    const rows = messages.map((m) => ({
      id: randomUUID(),
      queue,
      body: m.body,
      sentAt,
      visibleAt: new Date(sentAt.getTime() + m.delaySeconds * 1000),
    }));
    await useTransaction((tx) => tx.insert(message).values(rows));
    return rows.map((row) => row.id);
  }

  const port: TaskQueue = {
    async send(messages) {
      await sendTo(options.queue, messages);
      return { failed: [] };
    },
  };

  return {
    ...port,
    options,

    /** SendMessage to the main queue directly (the scheduler does, as EventBridge does to SQS). */
    sendRaw: async (body: string, delaySeconds = 0) =>
      (await sendTo(options.queue, [{ body, delaySeconds }]))[0] as string,

    /** ReceiveMessage: up to `max` visible messages, hidden for the visibility timeout. */
    async receive(max = 10): Promise<ReceivedMessage[]> {
      return createTransaction(async (tx) => {
        const at = now();
        const due = await tx
          .select()
          .from(message)
          .where(and(eq(message.queue, options.queue), lte(message.visibleAt, at)))
          .orderBy(asc(message.visibleAt), asc(message.sentAt))
          .limit(max)
          .for("update", { skipLocked: true });

        const exhausted = due.filter((row) => row.receiveCount >= options.maxReceiveCount);
        if (exhausted.length > 0) {
          await tx
            .update(message)
            .set({ queue: options.deadLetterQueue, visibleAt: at, receiptHandle: null })
            .where(
              inArray(
                message.id,
                exhausted.map((row) => row.id),
              ),
            );
        }

        const received: ReceivedMessage[] = [];
        for (const row of due.filter((r) => r.receiveCount < options.maxReceiveCount)) {
          const receiptHandle = randomBytes(16).toString("hex");
          const firstReceivedAt = row.firstReceivedAt ?? at;
          await tx
            .update(message)
            .set({
              receiveCount: row.receiveCount + 1,
              receiptHandle,
              visibleAt: new Date(at.getTime() + options.visibilityTimeoutSeconds * 1000),
              firstReceivedAt,
            })
            .where(eq(message.id, row.id));
          received.push({
            messageId: row.id,
            receiptHandle,
            body: row.body,
            receiveCount: row.receiveCount + 1,
            sentAt: row.sentAt,
            firstReceivedAt,
          });
        }
        return received;
      });
    },

    /** DeleteMessage: only with the latest receipt handle, as in SQS. */
    async delete(receiptHandles: string[]): Promise<void> {
      if (receiptHandles.length === 0) return;
      await useTransaction((tx) =>
        tx.delete(message).where(inArray(message.receiptHandle, receiptHandles)),
      );
    },

    /** Messages per queue: visible now, in flight or delayed. */
    async depth() {
      const at = now();
      const rows = await useTransaction((tx) =>
        tx
          .select({
            queue: message.queue,
            // An ISO string: postgres.js does not serialise a Date inside a raw sql fragment.
            visible:
              sql<number>`count(*) filter (where ${message.visibleAt} <= ${at.toISOString()}::timestamptz)`.mapWith(
                Number,
              ),
            total: count(),
          })
          .from(message)
          .groupBy(message.queue),
      );
      const of = (queue: string) => rows.find((row) => row.queue === queue);
      return {
        queue: { visible: of(options.queue)?.visible ?? 0, total: of(options.queue)?.total ?? 0 },
        deadLetters: of(options.deadLetterQueue)?.total ?? 0,
      };
    },

    async deadLetters(limit = 50) {
      return useTransaction((tx) =>
        tx
          .select()
          .from(message)
          .where(eq(message.queue, options.deadLetterQueue))
          .orderBy(asc(message.sentAt))
          .limit(limit),
      );
    },

    /**
     * What GetQueueAttributes and CloudWatch say of a queue: visible, in flight (received, not
     * deleted, its visibility timeout running), delayed (sent with a delay, not yet visible), and
     * the age of the oldest message: since it was sent, and for a dead letter since it moved to
     * the dead-letter queue, as SQS's ApproximateAgeOfOldestMessage counts them.
     */
    async stats() {
      const at = now();
      const atISO = at.toISOString();
      const rows = await useTransaction((tx) =>
        tx
          .select({
            queue: message.queue,
            visible:
              sql<number>`count(*) filter (where ${message.visibleAt} <= ${atISO}::timestamptz)`.mapWith(
                Number,
              ),
            inFlight:
              sql<number>`count(*) filter (where ${message.visibleAt} > ${atISO}::timestamptz and ${message.receiptHandle} is not null)`.mapWith(
                Number,
              ),
            delayed:
              sql<number>`count(*) filter (where ${message.visibleAt} > ${atISO}::timestamptz and ${message.receiptHandle} is null)`.mapWith(
                Number,
              ),
            total: count(),
            oldestSent: min(message.sentAt),
            // A dead letter's visible_at is when it moved there, and it stays so.
            oldestMoved: min(message.visibleAt),
          })
          .from(message)
          .where(inArray(message.queue, [options.queue, options.deadLetterQueue]))
          .groupBy(message.queue),
      );
      const ageSince = (since: Date | string | null | undefined) =>
        since ? Math.max(0, Math.floor((at.getTime() - new Date(since).getTime()) / 1000)) : null;
      const main = rows.find((row) => row.queue === options.queue);
      const dead = rows.find((row) => row.queue === options.deadLetterQueue);
      return {
        messages: {
          visible: main?.visible ?? 0,
          inFlight: main?.inFlight ?? 0,
          delayed: main?.delayed ?? 0,
        },
        oldestAgeSeconds: ageSince(main?.oldestSent),
        // As SQS's metric: for a dead letter, the time since it moved to the dead-letter queue.
        deadLetters: { count: dead?.total ?? 0, oldestAgeSeconds: ageSince(dead?.oldestMoved) },
      };
    },

    /** A page of dead letters, oldest first, after `after` (the last one of the page before). */
    async deadLetterPage(limit: number, after?: Position) {
      return useTransaction((tx) =>
        tx
          .select({ ...getTableColumns(message), cursorAt: cursorTime(message.sentAt) })
          .from(message)
          .where(
            and(
              eq(message.queue, options.deadLetterQueue),
              after ? beyond(message.sentAt, message.id, after, "asc") : undefined,
            ),
          )
          .orderBy(asc(message.sentAt), asc(message.id))
          .limit(limit),
      );
    },

    /** Moves one dead letter back to the queue, fresh; false when it is no dead letter (now). */
    async redriveOne(id: string): Promise<boolean> {
      const moved = await useTransaction((tx) =>
        tx
          .update(message)
          .set({
            queue: options.queue,
            receiveCount: 0,
            receiptHandle: null,
            visibleAt: now(),
            firstReceivedAt: null,
          })
          .where(and(eq(message.id, id), eq(message.queue, options.deadLetterQueue)))
          .returning({ id: message.id }),
      );
      return moved.length > 0;
    },

    /** Deletes one dead letter; false when it is no dead letter (now). */
    async discard(id: string): Promise<boolean> {
      const deleted = await useTransaction((tx) =>
        tx
          .delete(message)
          .where(and(eq(message.id, id), eq(message.queue, options.deadLetterQueue)))
          .returning({ id: message.id }),
      );
      return deleted.length > 0;
    },

    /** Moves every dead letter back to the queue, with a fresh receive count. */
    async redrive(): Promise<number> {
      const moved = await useTransaction((tx) =>
        tx
          .update(message)
          .set({
            queue: options.queue,
            receiveCount: 0,
            receiptHandle: null,
            visibleAt: now(),
            firstReceivedAt: null,
          })
          .where(eq(message.queue, options.deadLetterQueue))
          .returning({ id: message.id }),
      );
      return moved.length;
    },

    /** The SQS event Lambda would receive for these messages. */
    toEvent(received: ReceivedMessage[]): SQSEvent {
      return { Records: received.map((m) => toRecord(m, options.queue)) };
    },
  };
}

function toRecord(m: ReceivedMessage, queue: string): SQSRecord {
  return {
    messageId: m.messageId,
    receiptHandle: m.receiptHandle,
    body: m.body,
    attributes: {
      ApproximateReceiveCount: String(m.receiveCount),
      SentTimestamp: String(m.sentAt.getTime()),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt.getTime()),
    },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(m.body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:local:000000000000:${queue}`,
    awsRegion: "local",
  };
}
