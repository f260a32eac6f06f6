import { randomUUID } from "node:crypto";
import { desc } from "drizzle-orm";
import { z } from "zod";
import { config } from "../config";
import { useTransaction } from "../db/transaction";
import { log } from "../log";
import { defineTask, enqueue } from "../task/task";
import { devMailTable } from "./mail.sql";

export const Message = z.strictObject({
  to: z.email(),
  subject: z.string().min(1).max(200),
  text: z.string().min(1).max(100_000),
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

/** Hands the message to the provider: SES when an Email identity is linked, else the dev mailbox. */
export async function deliver(message: Message): Promise<void> {
  const mail = config().mail;
  if (mail.kind === "ses") {
    // Loaded only where SES is linked: offline never loads the SES SDK.
    const { sendWithSes } = await import("./ses");
    await sendWithSes(message, mail.sender, mail.configSet);
    return;
  }
  await useTransaction((tx) =>
    tx.insert(devMailTable).values({ id: randomUUID(), from: mail.sender, ...message }),
  );
  log.info("mail stored in the dev mailbox", { subject: message.subject });
}

/** The dev mailbox, newest first. */
export async function devMailbox(limit = 50) {
  const rows = await useTransaction((tx) =>
    tx.select().from(devMailTable).orderBy(desc(devMailTable.sentAt)).limit(limit),
  );
  return rows.map((row) => ({ ...row, sentAt: row.sentAt.toISOString() }));
}
