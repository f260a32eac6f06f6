import { desc, inArray } from "drizzle-orm";
import * as z from "zod";
import { config } from "../config";
import { useTransaction } from "../db/transaction";
import { log } from "../log";
import { defineTask, enqueue, type TaskContext } from "../task/task";
import { devMailTable } from "./mail.sql";

export const Message = z.strictObject({
  to: z.email(),
  subject: z.string().min(1).max(200),
  text: z.string().min(1).max(100_000),
  /** The same message as simple HTML (mail/template.ts), sent beside the text when given. */
  html: z.string().min(1).max(200_000).optional(),
});
export type Message = z.infer<typeof Message>;

/** Hands one message to the provider; the handler is in mail.tasks.ts. */
export const deliverTask = defineTask("mail.deliver", Message);

/**
 * Queues an email (a `mail.deliver` task in the caller's transaction): nothing goes out for a
 * rolled-back write, and a failing provider is retried by the task queue. `dedupKey` sends once.
 */
export async function send(message: Message, options: { dedupKey?: string } = {}) {
  return enqueue(deliverTask, message, options);
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
  return deleted.length;
}
