import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { userTable } from "../account/account.sql";

/** The __pluralWords__ of the __kebab__ module: each one a user's own. */
export const __camel__Table = pgTable(
  "__snake__",
  {
    /** `__prefix___<ulid>`: time-ordered, so it doubles as the keyset cursor. */
    id: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    title: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("__snake___user_id").on(table.userId, table.id)],
);
