import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { tableAccess } from "../db/table-access";

/**
 * The offline mailbox: mail "sent" without SES lands here, readable at GET /api/dev/mail. The id is
 * the `mail.deliver` task's, so a task delivered twice stores its mail once.
 */
export const devMailTable = pgTable("dev_mail", {
  id: text().primaryKey(),
  from: text().notNull(),
  to: text().notNull(),
  subject: text().notNull(),
  text: text().notNull(),
  html: text(),
  sentAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

// The bodies carry live links (a password reset, an email change): the console shows who, when
// and what about, never the link itself (ADR 028).
tableAccess(devMailTable, { sensitive: ["text", "html"] });

export const mailStatuses = ["queued", "sent", "failed"] as const;

/**
 * Every message the app hands to a provider, with its status, for the operator console: queued
 * (Mail.send, in the sender's transaction), then sent or failed (each attempt, by sendNow). No
 * body: a mail can carry a sign-in link. Deleted with the account's addresses, and after
 * MAIL_LOG_RETENTION_DAYS.
 */
export const mailMessageTable = pgTable(
  "mail_message",
  {
    /** The `mail.deliver` task's id, or the id the sender gave `sendNow`. */
    id: text().primaryKey(),
    to: text().notNull(),
    subject: text().notNull(),
    status: text({ enum: mailStatuses }).notNull(),
    provider: text({ enum: ["ses", "dev"] }),
    providerMessageId: text(),
    /** The last attempt's error, redacted and cut short. */
    error: text(),
    attempts: integer().notNull().default(0),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("mail_message_created").on(table.createdAt, table.id)],
);
