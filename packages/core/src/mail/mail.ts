import { desc, getTableColumns, inArray, lt, sql } from "drizzle-orm";
import * as z from "zod";
import { config } from "../config";
import { beyond, cursorTime, decodeCursor, pageOf } from "../db/cursor";
import { useTransaction } from "../db/transaction";
import { log } from "../log";
import { errorSummary } from "../observability/redact";
import { defineTask, enqueue, type TaskContext } from "../task/task";
import { devMailTable, mailMessageTable } from "./mail.sql";

/** How long the mail log (mail_message) keeps a message's status. */
export const MAIL_LOG_RETENTION_DAYS = 30;

export const Message = z.strictObject({
  to: z.email(),
  subject: z.string().min(1).max(200),
  text: z.string().min(1).max(100_000),
  /** The same message as simple HTML (mail/template.ts), sent beside the text when given. */
  html: z.string().min(1).max(200_000).optional(),
});
export type Message = z.infer<typeof Message>;

/** Hands one message to the provider; the handler is in mail.tasks.ts. */
// A body may quote anything the sender put in it: the console shows the address and subject.
export const deliverTask = defineTask("mail.deliver", Message, { sensitive: ["text", "html"] });

/**
 * Queues an email (a `mail.deliver` task in the caller's transaction): nothing goes out for a
 * rolled-back write, and a failing provider is retried by the task queue. `dedupKey` sends once.
 */
export async function send(message: Message, options: { dedupKey?: string } = {}) {
  const queued = await enqueue(deliverTask, message, options);
  if (queued.enqueued) {
    // In the sender's transaction, like the task: a rolled-back write logs no mail either.
    await useTransaction((tx) =>
      tx
        .insert(mailMessageTable)
        .values({ id: queued.id, to: message.to, subject: message.subject, status: "queued" }),
    );
  }
  return queued;
}

/**
 * Hands the message to the provider, once per `mail.deliver` task: SES when an Email identity is
 * linked, else the dev mailbox. The SES call is the task's "send" step, recorded with the SES
 * message id as soon as SES accepts it, so a later delivery of the task does not send again
 * (only a crash before that record commits can). The dev mailbox row is keyed on the task id.
 */
export async function deliver(
  message: Message,
  task: Pick<TaskContext, "id" | "step">,
): Promise<void> {
  if (config().mail.kind === "ses") {
    await task.step("send", async () => ({ messageId: await sendNow(message, task.id) }));
    return;
  }
  await sendNow(message, task.id);
}

/**
 * Hands the message to the provider now, with no outbox: SES when linked (returns its message
 * id), else the dev mailbox under `id` (stored once per id). For mail that must not be persisted
 * on its way out (a link carrying a token, ADR 025): the caller runs it inside a task step, which
 * gives it its once-per-task and retries. Outside a transaction when SES is linked.
 */
export async function sendNow(message: Message, id: string): Promise<string | null> {
  const parsed = Message.parse(message);
  try {
    const providerMessageId = await handOver(parsed, id);
    await logAttempt(parsed, id, { status: "sent", providerMessageId, error: null });
    return providerMessageId;
  } catch (error) {
    // Recorded, then thrown on: the task that sends it retries, and the console shows why.
    await logAttempt(parsed, id, { status: "failed", error: errorSummary(error) }).catch(
      (failure: unknown) => log.warn("mail failure not logged", { error: failure }),
    );
    throw error;
  }
}

/** One row per message id: each attempt updates it (status, provider id, error, count). */
async function logAttempt(
  message: Message,
  id: string,
  outcome: { status: "sent" | "failed"; providerMessageId?: string | null; error: string | null },
) {
  const provider = config().mail.kind === "ses" ? "ses" : "dev";
  const now = new Date();
  const fields = {
    status: outcome.status,
    provider,
    providerMessageId: outcome.providerMessageId ?? null,
    error: outcome.error,
    updatedAt: now,
  } as const;
  await useTransaction((tx) =>
    tx
      .insert(mailMessageTable)
      .values({ id, to: message.to, subject: message.subject, attempts: 1, ...fields })
      .onConflictDoUpdate({
        target: mailMessageTable.id,
        set: { ...fields, attempts: sql`${mailMessageTable.attempts} + 1` },
      }),
  );
}

async function handOver(parsed: Message, id: string): Promise<string | null> {
  const mail = config().mail;
  if (mail.kind === "ses") {
    // Loaded only where SES is linked: offline never loads the SES SDK.
    const { sendWithSes } = await import("./ses");
    const { messageId } = await sendWithSes(parsed, mail.sender, mail.configSet);
    log.info("mail sent", { subject: parsed.subject, messageId });
    return messageId;
  }
  const stored = await useTransaction(async (tx) =>
    tx
      .insert(devMailTable)
      .values({ id, from: mail.sender, ...parsed })
      .onConflictDoNothing()
      .returning({ id: devMailTable.id }),
  );
  if (stored.length > 0) log.info("mail stored in the dev mailbox", { subject: parsed.subject });
  return null;
}

/** The dev mailbox, newest first. */
export async function devMailbox(limit = 50) {
  const rows = await useTransaction(async (tx) =>
    tx.select().from(devMailTable).orderBy(desc(devMailTable.sentAt)).limit(limit),
  );
  return rows.map((row) => ({ ...row, sentAt: row.sentAt.toISOString() }));
}

/**
 * Deletes the dev mailbox's mail to any of `addresses` (a deleted account's, past ones included),
 * in the caller's transaction.
 */
export async function forgetAddresses(addresses: readonly string[]): Promise<number> {
  if (addresses.length === 0) return 0;
  const deleted = await useTransaction((tx) =>
    tx
      .delete(devMailTable)
      .where(inArray(devMailTable.to, [...addresses]))
      .returning({ id: devMailTable.id }),
  );
  const logged = await useTransaction((tx) =>
    tx
      .delete(mailMessageTable)
      .where(inArray(mailMessageTable.to, [...addresses]))
      .returning({ id: mailMessageTable.id }),
  );
  return deleted.length + logged.length;
}

export type LoggedMessage = ReturnType<typeof toLogged>;

const toLogged = (row: typeof mailMessageTable.$inferSelect) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The mail log, newest first, a page at a time (`cursor`: a nextCursor from before). */
export async function recent(limit: number, cursor?: string) {
  const after = cursor ? decodeCursor(cursor) : undefined;
  const t = mailMessageTable;
  const rows = await useTransaction((tx) =>
    tx
      .select({ ...getTableColumns(t), cursorAt: cursorTime(t.createdAt) })
      .from(t)
      .where(after ? beyond(t.createdAt, t.id, after, "desc") : undefined)
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit(limit + 1),
  );
  const page = pageOf(rows, limit, (row) => ({ at: row.cursorAt, id: row.id }));
  return {
    messages: page.rows.map(({ cursorAt: _, ...row }) => toLogged(row)),
    nextCursor: page.nextCursor,
  };
}

/** Deletes log rows past MAIL_LOG_RETENTION_DAYS; maintenance's cleanup calls it. */
export async function prune(now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - MAIL_LOG_RETENTION_DAYS * 86_400_000);
  const deleted = await useTransaction((tx) =>
    tx
      .delete(mailMessageTable)
      .where(lt(mailMessageTable.createdAt, cutoff))
      .returning({ id: mailMessageTable.id }),
  );
  return deleted.length;
}
