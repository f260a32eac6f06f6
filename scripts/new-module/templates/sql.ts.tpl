import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { userTable } from "../account/account.sql";
import { tableAccess } from "../db/table-access";

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
// The operator console browses this table; an admin may correct a title there (audited). Secrets
// go in `sensitive` (never shown); packages/core/README.md, "The operator console".
tableAccess(__camel__Table, { editable: ["title"] });
