import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
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
