import { and, asc, inArray, isNotNull, isNull, lt, lte, or, sql } from "drizzle-orm";
import * as z from "zod";
import { afterCommit, createTransaction, useTransaction } from "../db/transaction";
import { createID } from "../id";
import { log, logContext } from "../log";
import { currentTrace, formatTraceparent } from "../observability/trace";
import { MAX_DELAY_SECONDS } from "./queue";
import { OUTBOX_RETENTION_DAYS, RECEIPT_RETENTION_DAYS } from "./queue-policy";
import { taskQueue } from "./runtime";
import {
  localQueueMessageTable,
  taskOutboxTable,
  taskReceiptTable,
  taskStepTable,
} from "./task.sql";

/**
 * Background tasks. A task has a *contract* (its name and payload schema, declared with
 * `defineTask` in the module that enqueues it) and a *handler* (attached with `handleTask` in the
 * module's `<module>.tasks.ts`). Code that enqueues imports only the contract, so it never loads
 * the handler, and the handler can import the module freely: no cycle. The composition roots pass
 * the app's handlers (`../tasks.ts`) to the worker. Requests enqueue with `enqueue`, which writes to
 * the outbox inside the caller's transaction and relays after commit.
 */

/** What a step may return: it is stored as JSON and handed back as it was stored. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface TaskContext {
  /** The task's id: the same on every delivery of it, so handlers can key effects on it. */
  id: string;
  /** 1 on first delivery; SQS's ApproximateReceiveCount. */
  attempt: number;
  /** The request that enqueued it, for log correlation. */
  requestId?: string;
  /**
   * Runs `fn`, a call that leaves the process (an email, an HTTP request), once per task as far as
   * the database can tell: its result is recorded in a transaction of its own as soon as `fn`
   * returns, and a later delivery of the task gets the recorded result without calling `fn`. Only
   * a crash (or a lost database) between `fn` returning and its record committing repeats it.
   * Call it outside any transaction (it throws inside one the handler opened): `fn` holds no
   * database connection while it waits. `name` is unique within the task.
   */
  step<T extends Json>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** What an enqueuer needs: the task's name and the schema its payload must pass. */
export interface TaskContract<Payload extends z.ZodType = z.ZodType> {
  name: string;
  payload: Payload;
}

/** A contract with the function that runs it: what the worker is given. */
export interface TaskHandler<Payload extends z.ZodType = z.ZodType> extends TaskContract<Payload> {
  handler: (payload: z.output<Payload>, context: TaskContext) => Promise<void>;
}

function contextRequestId(): string | undefined {
  const { requestId } = logContext();
  return typeof requestId === "string" ? requestId : undefined;
}

const TASK_NAME = /^[a-z][a-z0-9-]*\.[a-z][a-zA-Z0-9-]*$/;

// What defineTask and handleTask made, so the registry test can find them among a module's exports.
const contracts = new WeakSet<object>();
const handlers = new WeakSet<object>();

export function defineTask<Payload extends z.ZodType>(
  name: string,
  payload: Payload,
): TaskContract<Payload> {
  if (!TASK_NAME.test(name)) throw new Error(`task name "${name}" is not <module>.<verb>`);
  const contract = { name, payload };
  contracts.add(contract);
  return contract;
}

/** Whether `value` was made by `defineTask` (the registry test finds contracts with no handler). */
export function isTaskContract(value: unknown): value is TaskContract {
  return typeof value === "object" && value !== null && contracts.has(value);
}

/** Whether `value` was made by `handleTask`. */
export function isTaskHandler(value: unknown): value is TaskHandler {
  return typeof value === "object" && value !== null && handlers.has(value);
}

export function handleTask<Payload extends z.ZodType>(
  contract: TaskContract<Payload>,
  handler: TaskHandler<Payload>["handler"],
): TaskHandler<Payload> {
  const bound = { ...contract, handler };
  handlers.add(bound);
  return bound;
}

/** What travels on the queue. Schedules send it without `id` (the SQS message id is used). */
export const Envelope = z.object({
  task: z.string().min(1),
  payload: z.unknown(),
  id: z.string().min(1).optional(),
  requestId: z.string().optional(),
  /** The enqueuing request's trace (W3C traceparent); the worker validates it as the API does. */
  traceparent: z.string().optional(),
  schedule: z.string().optional(),
});
export type Envelope = z.infer<typeof Envelope>;

export interface EnqueueOptions {
  /** Deliver no sooner than this many seconds from now (any length: the outbox holds long delays). */
  delaySeconds?: number;
  /** Enqueue at most once per key while its outbox row is kept (7 days). */
  dedupKey?: string;
  requestId?: string;
}

/**
 * Records the task in the caller's transaction (or on its own outside one). Nothing is sent for a
 * rolled-back write; after commit it is relayed, and the sweep relays it if this process dies first.
 * Returns `enqueued: false` when `dedupKey` was already used.
 */
export async function enqueue<Payload extends z.ZodType>(
  task: TaskContract<Payload>,
  payload: z.input<Payload>,
  options: EnqueueOptions = {},
): Promise<{ id: string; enqueued: boolean }> {
  const parsed = task.payload.parse(payload);
  const id = createID("task");
  const availableAt = new Date(Date.now() + Math.max(0, options.delaySeconds ?? 0) * 1000);
  const trace = currentTrace();
  const inserted = await useTransaction(async (tx) =>
    tx
      .insert(taskOutboxTable)
      .values({
        id,
        task: task.name,
        payload: parsed ?? null,
        dedupKey: options.dedupKey,
        // The enqueuing request's id travels with the task, so its logs join the request's.
        requestId: options.requestId ?? contextRequestId(),
        // And its trace: the worker's logs and spans for this task continue it (ADR 029).
        traceparent: trace ? formatTraceparent(trace) : null,
        availableAt,
      })
      .onConflictDoNothing({ target: taskOutboxTable.dedupKey })
      .returning({ id: taskOutboxTable.id }),
  );
  if (inserted.length === 0) return { id, enqueued: false };
  await afterCommit(() => relay());
  return { id, enqueued: true };
}

/**
 * Sends outbox rows that are due (or due within SQS's 15-minute delay) and marks them relayed,
 * 100 at a time. Concurrent relays (after-commit, the sweep, several processes) skip each other's
 * rows. A crash between send and commit sends a row twice: handlers dedupe by task id.
 */
export async function relay(now = new Date()): Promise<number> {
  let total = 0;
  for (;;) {
    const { sent, more } = await createTransaction(async (tx) => {
      const horizon = new Date(now.getTime() + MAX_DELAY_SECONDS * 1000);
      const rows = await tx
        .select()
        .from(taskOutboxTable)
        .where(and(isNull(taskOutboxTable.relayedAt), lte(taskOutboxTable.availableAt, horizon)))
        .orderBy(asc(taskOutboxTable.availableAt))
        .limit(RELAY_BATCH)
        .for("update", { skipLocked: true });
      if (rows.length === 0) return { sent: 0, more: false };
      const { failed } = await taskQueue().send(rows.map((row) => toMessage(row, now)));
      const failedIDs = new Set(failed.map((entry) => entry.id));
      const sent = rows.map((row) => row.id).filter((id) => !failedIDs.has(id));
      if (sent.length > 0) {
        await tx
          .update(taskOutboxTable)
          .set({ relayedAt: now })
          .where(inArray(taskOutboxTable.id, sent));
      }
      if (failed.length > 0) {
        log.warn("outbox: tasks not relayed, the sweep retries them", { failed: failed.length });
      }
      // Go on only with a full batch and a healthy queue, so an outage does not spin.
      return { sent: sent.length, more: rows.length === RELAY_BATCH && failed.length === 0 };
    });
    total += sent;
    if (!more) return total;
  }
}

const RELAY_BATCH = 100;

function toMessage(row: typeof taskOutboxTable.$inferSelect, now: Date) {
  const envelope: Envelope = { task: row.task, payload: row.payload, id: row.id };
  if (row.requestId) envelope.requestId = row.requestId;
  if (row.traceparent) envelope.traceparent = row.traceparent;
  return {
    id: row.id,
    body: JSON.stringify(envelope),
    delaySeconds: Math.max(0, Math.ceil((row.availableAt.getTime() - now.getTime()) / 1000)),
  };
}

/**
 * Relays on an interval what an after-commit relay missed (a crash between commit and relay, a
 * queue outage). Every API process runs it; concurrent sweeps skip each other's rows.
 */
export function startOutboxSweep(intervalMs = 15_000): () => void {
  const timer = setInterval(() => {
    relay().catch((error: unknown) => log.error("outbox sweep failed", { error }));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

const daysAgo = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000);

/**
 * Deletes task records that have outlived their purpose: relayed outbox rows (and so their dedup
 * keys) after OUTBOX_RETENTION_DAYS, receipts (completed, or a crashed delivery's claim) and step
 * results after RECEIPT_RETENTION_DAYS. Idempotent. The maintenance module calls it on its
 * schedule; task tables are written only here and by the worker.
 */
export async function prune(
  now = new Date(),
): Promise<{ outboxRows: number; receipts: number; steps: number }> {
  return useTransaction(async (tx) => {
    const outbox = await tx
      .delete(taskOutboxTable)
      .where(
        and(
          isNotNull(taskOutboxTable.relayedAt),
          lt(taskOutboxTable.relayedAt, daysAgo(now, OUTBOX_RETENTION_DAYS)),
        ),
      )
      .returning({ id: taskOutboxTable.id });
    const cutoff = daysAgo(now, RECEIPT_RETENTION_DAYS);
    const receipts = await tx
      .delete(taskReceiptTable)
      .where(
        or(
          lt(taskReceiptTable.completedAt, cutoff),
          and(isNull(taskReceiptTable.completedAt), lt(taskReceiptTable.claimedUntil, cutoff)),
        ),
      )
      .returning({ id: taskReceiptTable.id });
    const steps = await tx
      .delete(taskStepTable)
      .where(lt(taskStepTable.completedAt, cutoff))
      .returning({ taskId: taskStepTable.taskId });
    return { outboxRows: outbox.length, receipts: receipts.length, steps: steps.length };
  });
}

/**
 * Deletes the tasks whose payload holds any of `values` as a whole JSON string (a deleted user's
 * id or address), from the outbox and the offline queue, in the caller's transaction: relayed or
 * not, so a mail to a deleted account is not sent from here either. A task already on SQS cannot
 * be taken back; its handler finds the user gone (ADR 025). Returns how many rows went.
 */
export async function forgetPayloads(values: readonly string[]): Promise<number> {
  const needles = values.map((value) => JSON.stringify(value));
  if (needles.length === 0) return 0;
  const holds = (column: unknown) =>
    or(...needles.map((needle) => sql`strpos(${column}, ${needle}) > 0`));
  return useTransaction(async (tx) => {
    // jsonb's text form puts no space inside a string: `"ada@example.com"` is found as written.
    const outbox = await tx
      .delete(taskOutboxTable)
      .where(holds(sql`${taskOutboxTable.payload}::text`))
      .returning({ id: taskOutboxTable.id });
    const queued = await tx
      .delete(localQueueMessageTable)
      .where(holds(localQueueMessageTable.body))
      .returning({ id: localQueueMessageTable.id });
    return outbox.length + queued.length;
  });
}
