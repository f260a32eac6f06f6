import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { userTable } from "../account/account.sql";
import { tableAccess } from "../db/table-access";

export const noteTable = pgTable(
  "note",
  {
    /** `not_<ulid>`: time-ordered (monotonic within a process), so it doubles as the keyset cursor. */
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    title: text().notNull(),
    body: text().notNull().default(""),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index("note_user_id").on(table.userId, table.id),
    index("note_updated").on(table.updatedAt),
  ],
);
// The console may correct a title (moderation), audited; nothing else of a note (ADR 028).
tableAccess(noteTable, { editable: ["title"] });
