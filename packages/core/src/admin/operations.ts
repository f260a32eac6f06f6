import * as z from "zod";
import * as Attachment from "../attachment/attachment";
import { createTransaction } from "../db/transaction";
import * as Mail from "../mail/mail";
import type { Operator } from "../task/operator";
import * as Audit from "./audit";

/**
 * The operations views of the console (ADR 028): tasks and dead letters, schedules, mail,
 * attachments. Reads go through the owning module (the task operator, Mail, Attachment); every
 * action is recorded in the audit log, in one transaction with it.
 *
 * On the local queue the action and its record commit together. On SQS the action is an AWS call
 * that cannot roll back: it runs first and its record follows it, so a failed call leaves no
 * record; only a database failure between the call and the commit loses one (ADR 028).
 */

const Limit = z.coerce.number().int().min(1).max(100).default(50);
const Cursor = z.string().min(1).max(500).optional();

export const PageInput = z.strictObject({ cursor: Cursor, limit: Limit });
export const AttachmentsInput = z.strictObject({
  status: Attachment.Status.optional(),
  cursor: Cursor,
  limit: Limit,
});
/** SQS message ids are UUIDs, local ones too; anything printable up to 100 is let through. */
export const DeadLetterParam = z.strictObject({ id: z.string().min(1).max(100) });
export const ScheduleParam = z.strictObject({ name: z.string().min(1).max(64) });

export const TaskStats = z.object({
  queue: z.enum(["local", "sqs"]),
  tasks: z.array(z.string()),
  messages: z.object({
    visible: z.number().int(),
    inFlight: z.number().int(),
    delayed: z.number().int(),
  }),
  oldestAgeSeconds: z.number().int().nullable(),
  deadLetters: z.object({
    count: z.number().int().nullable(),
    oldestAgeSeconds: z.number().int().nullable(),
  }),
});

export const DeadLetter = z.object({
  id: z.string(),
  taskId: z.string().nullable(),
  task: z.string().nullable(),
  schedule: z.string().nullable(),
  payload: z.unknown(),
  receiveCount: z.number().int(),
  sentAt: z.string(),
  lastError: z
    .object({ message: z.string(), at: z.string(), attempts: z.number().int() })
    .nullable(),
});

export const ScheduleInfo = z.object({
  name: z.string(),
  description: z.string().nullable(),
  expression: z.string(),
  timezone: z.string(),
  task: z.string(),
  next: z.array(z.string()),
  lastRun: z
    .object({
      taskId: z.string(),
      startedAt: z.string(),
      finishedAt: z.string().nullable(),
      outcome: z.enum(["running", "succeeded", "failed"]),
      error: z.string().nullable(),
      attempts: z.number().int(),
    })
    .nullable(),
});

export const MailMessage = z.object({
  id: z.string(),
  to: z.string(),
  subject: z.string(),
  status: z.enum(["queued", "sent", "failed"]),
  provider: z.enum(["ses", "dev"]).nullable(),
  providerMessageId: z.string().nullable(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const AttachmentRow = z.object({
  id: z.string(),
  noteId: z.string(),
  userId: z.string(),
  filename: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  status: Attachment.Status,
  rejectReason: z.string().nullable(),
  createdAt: z.string(),
  processedAt: z.string().nullable(),
});

/** The audited actions over the app's task operator (the composition root makes it). */
export function createOperations(operator: Operator) {
  return {
    stats: () => operator.stats(),
    deadLetters: ({ cursor, limit }: z.output<typeof PageInput>) =>
      operator.deadLetterPage(limit, cursor),

    redriveAll: () =>
      createTransaction(async () => {
        const moved = await operator.redrive();
        await Audit.record({ action: "task.redrive-all", details: { moved } });
        return { moved };
      }),

    redriveOne: (id: string) =>
      createTransaction(async () => {
        const result = await operator.redriveOne(id);
        await Audit.record({ action: "task.redrive", target: `dead-letter:${id}` });
        return result;
      }),

    discard: (id: string) =>
      createTransaction(async () => {
        const result = await operator.discard(id);
        await Audit.record({ action: "task.discard", target: `dead-letter:${id}` });
        return result;
      }),

    schedules: () => operator.schedules(),

    runSchedule: (name: string) =>
      createTransaction(async () => {
        const { id } = await operator.runSchedule(name);
        await Audit.record({ action: "schedule.run", target: `schedule:${name}`, details: { id } });
        return { id };
      }),
  };
}

export type Operations = ReturnType<typeof createOperations>;

export const mail = ({ cursor, limit }: z.output<typeof PageInput>) => Mail.recent(limit, cursor);

export const attachments = (input: z.output<typeof AttachmentsInput>) => Attachment.recent(input);
