import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import * as z from "zod";
import { errorResponse, errorResponses, jsonResponse } from "../http/openapi";
import { validate } from "../http/validate";
import { adminOnly, adminWrite, security, tags } from "./http";
import {
  AttachmentRow,
  AttachmentsInput,
  attachments,
  DeadLetter,
  DeadLetterParam,
  MailMessage,
  mail,
  type Operations,
  PageInput,
  ScheduleInfo,
  ScheduleParam,
  TaskStats,
} from "./operations";

const noDeadLetter = errorResponse(
  404,
  "`not_found`: no dead letter with this id (redriven, discarded, or never one)",
);
const page = <T extends z.ZodType>(key: string, row: T) =>
  z.object({ [key]: z.array(row), nextCursor: z.string().nullable() });

/**
 * Tasks and dead letters: on the local queue offline, on the stage's SQS queues deployed.
 * Redrive-all is `/redrive`, not `/dead-letters/redrive`: beside `/dead-letters/:id/redrive` that
 * path is one Hono's RegExpRouter cannot take, and the whole app would fall back to the
 * TrieRouter, ~3% of every request's CPU (site.test.ts checks that every route fits).
 */
export function createTaskRoutes(operations: Operations) {
  return new Hono()
    .get(
      "/",
      describeRoute({
        operationId: "adminTaskStats",
        summary: "Queue depth (visible, in flight, delayed), oldest message age, dead letters",
        description:
          "On SQS the counts are GetQueueAttributes' approximate ones and the ages CloudWatch's ApproximateAgeOfOldestMessage (a minute or more behind; null when CloudWatch has none). `deadLetters.count` is null where the dead-letter queue is not linked.",
        tags,
        security,
        responses: { 200: jsonResponse("The queue now", TaskStats), ...adminOnly },
      }),
      async (c) => c.json(await operations.stats(), 200),
    )
    .get(
      "/dead-letters",
      describeRoute({
        operationId: "adminListDeadLetters",
        summary: "Dead letters with their payload (secrets hidden) and last error, oldest first",
        description:
          "Payload values under secret-looking keys, and a task's sensitive fields (a mail's body), are `[hidden]`; a body that is not a task envelope shows no payload. On SQS it is a sample of up to `limit` (SQS cannot page) and `nextCursor` is null.",
        tags,
        security,
        responses: {
          200: jsonResponse("A page", page("deadLetters", DeadLetter)),
          ...errorResponses(400),
          ...adminOnly,
        },
      }),
      validate("query", PageInput),
      async (c) => c.json(await operations.deadLetters(c.req.valid("query")), 200),
    )
    .post(
      "/redrive",
      describeRoute({
        operationId: "adminRedriveDeadLetters",
        summary: "Every dead letter back to the task queue (audited)",
        tags,
        security,
        responses: {
          200: jsonResponse(
            "How many moved; null on SQS, where StartMessageMoveTask moves them asynchronously",
            { moved: z.number().int().nullable() },
          ),
          ...adminWrite,
        },
      }),
      async (c) => c.json(await operations.redriveAll(), 200),
    )
    .post(
      "/dead-letters/:id/redrive",
      describeRoute({
        operationId: "adminRedriveDeadLetter",
        summary: "One dead letter back to the task queue, with a fresh receive count (audited)",
        tags,
        security,
        responses: {
          200: jsonResponse("Moved", { id: z.string() }),
          ...errorResponses(400),
          ...adminWrite,
          404: noDeadLetter,
        },
      }),
      validate("param", DeadLetterParam),
      async (c) => c.json(await operations.redriveOne(c.req.valid("param").id), 200),
    )
    .delete(
      "/dead-letters/:id",
      describeRoute({
        operationId: "adminDiscardDeadLetter",
        summary: "Delete one dead letter: its task will not run (audited)",
        tags,
        security,
        responses: {
          200: jsonResponse("Deleted", { id: z.string() }),
          ...errorResponses(400),
          ...adminWrite,
          404: noDeadLetter,
        },
      }),
      validate("param", DeadLetterParam),
      async (c) => c.json(await operations.discard(c.req.valid("param").id), 200),
    );
}

export function createScheduleRoutes(operations: Operations) {
  return new Hono()
    .get(
      "/",
      describeRoute({
        operationId: "adminListSchedules",
        summary: "Every schedule: expression, time zone, next three runs, last run and outcome",
        description:
          "A rate schedule's next runs are counted from now (EventBridge counts from its creation). `lastRun` is the latest delivery the worker started, with its outcome.",
        tags,
        security,
        responses: {
          200: jsonResponse("The schedules", { schedules: z.array(ScheduleInfo) }),
          ...adminOnly,
        },
      }),
      async (c) => c.json({ schedules: await operations.schedules() }, 200),
    )
    .post(
      "/:name/run",
      describeRoute({
        operationId: "adminRunSchedule",
        summary: "Send the schedule's message now, as EventBridge would (audited)",
        tags,
        security,
        responses: {
          202: jsonResponse("Queued: the message (and task) id", { id: z.string() }),
          ...errorResponses(400),
          ...adminWrite,
          404: errorResponse(404, "`not_found`: no such schedule (`details.schedules`)"),
        },
      }),
      validate("param", ScheduleParam),
      async (c) => c.json(await operations.runSchedule(c.req.valid("param").name), 202),
    );
}

export const MailRoutes = new Hono().get(
  "/",
  describeRoute({
    operationId: "adminListMail",
    summary: "Mail the app handed to its provider, newest first, with status (no bodies)",
    tags,
    security,
    responses: {
      200: jsonResponse("A page", page("messages", MailMessage)),
      ...errorResponses(400),
      ...adminOnly,
    },
  }),
  validate("query", PageInput),
  async (c) => c.json(await mail(c.req.valid("query")), 200),
);

export const AttachmentAdminRoutes = new Hono().get(
  "/",
  describeRoute({
    operationId: "adminListAttachments",
    summary: "Every user's attachments, newest first; `status=rejected` with the reason",
    tags,
    security,
    responses: {
      200: jsonResponse("A page", page("attachments", AttachmentRow)),
      ...errorResponses(400),
      ...adminOnly,
    },
  }),
  validate("query", AttachmentsInput),
  async (c) => c.json(await attachments(c.req.valid("query")), 200),
);
