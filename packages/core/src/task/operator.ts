import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { config } from "../config";
import { NotFoundError, ValidationError } from "../error";
import { createID } from "../id";
import { schedules } from "../schedules";
import { tasks } from "../tasks";
import { localQueue } from "./runtime";
import { nextFireTimes } from "./schedule-expression";
import type { Envelope } from "./task";

/**
 * What an operator does with tasks (`npm run tasks`, and the offline dev routes): see the tasks,
 * schedules and queue depths, read and redrive dead letters, run a task now. Offline it works on
 * the local queue; with an SQS queue linked (`sst shell`) on the stage's SQS queues.
 */

export interface DeadLetter {
  id: string;
  body: string;
  receiveCount: number;
  sentAt: string;
}

const sqs = () => new SQSClient({});

function settings() {
  return config().tasks;
}

export async function overview() {
  const now = new Date();
  const queues = await depth();
  return {
    queue: settings().kind,
    tasks: tasks.map((task) => task.name),
    schedules: schedules.map((s) => ({
      name: s.name,
      expression: s.expression,
      timezone: s.timezone,
      task: s.task,
      next: nextFireTimes(s.expression, s.timezone, now, 1, now)[0]?.toISOString() ?? null,
    })),
    ...queues,
  };
}

async function depth() {
  const current = settings();
  if (current.kind === "local") {
    const { queue, deadLetters } = await localQueue().depth();
    return { messages: { visible: queue.visible, total: queue.total }, deadLetters };
  }
  const attributes = async (url: string) =>
    (
      await sqs().send(
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
  const main = await attributes(current.queueUrl);
  const visible = Number(main.ApproximateNumberOfMessages ?? 0);
  const total =
    visible +
    Number(main.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(main.ApproximateNumberOfMessagesDelayed ?? 0);
  const dead = current.deadLetterUrl
    ? Number((await attributes(current.deadLetterUrl)).ApproximateNumberOfMessages ?? 0)
    : null;
  return { messages: { visible, total }, deadLetters: dead };
}

export async function deadLetters(limit = 50): Promise<DeadLetter[]> {
  const current = settings();
  if (current.kind === "local") {
    return (await localQueue().deadLetters(limit)).map((m) => ({
      id: m.id,
      body: m.body,
      receiveCount: m.receiveCount,
      sentAt: m.sentAt.toISOString(),
    }));
  }
  const url = requireDeadLetterUrl();
  // A peek: visibility 0 leaves them in place for the redrive.
  const result = await sqs().send(
    new ReceiveMessageCommand({
      QueueUrl: url,
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
}

/** Moves every dead letter back to the task queue. Returns how many (SQS: null, it runs async). */
export async function redrive(): Promise<number | null> {
  const current = settings();
  if (current.kind === "local") return localQueue().redrive();
  const url = requireDeadLetterUrl();
  const arn = (
    await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))
  ).Attributes?.QueueArn;
  await sqs().send(new StartMessageMoveTaskCommand({ SourceArn: arn }));
  return null;
}

/** Queues a task now, outside any business transaction (an operator action). */
export async function run(taskName: string, payload: unknown): Promise<{ id: string }> {
  const task = tasks.find((t) => t.name === taskName);
  if (!task) throw new NotFoundError(`No task "${taskName}"`, { tasks: tasks.map((t) => t.name) });
  const parsed = task.payload.safeParse(payload);
  if (!parsed.success) {
    throw ValidationError.fromIssues(parsed.error.issues, `Invalid payload for ${taskName}`);
  }
  const id = createID("task");
  const body = JSON.stringify({ task: task.name, payload: parsed.data, id } satisfies Envelope);
  const current = settings();
  if (current.kind === "local") await localQueue().sendRaw(body);
  else await sqs().send(new SendMessageCommand({ QueueUrl: current.queueUrl, MessageBody: body }));
  return { id };
}

function requireDeadLetterUrl(): string {
  const current = settings();
  if (current.kind !== "sqs" || !current.deadLetterUrl) {
    throw new Error(
      "TaskDeadLetters is not linked: run through `npx sst shell --stage <stage> --`",
    );
  }
  return current.deadLetterUrl;
}
