import { pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { userTable } from "../account/account.sql";

/** One row per user per (UTC) day a digest was queued: the guard that sends it at most once. */
export const digestSentTable = pgTable(
  "digest_sent",
  {
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    day: text().notNull(),
    sentAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.day] })],
);
