import { bigserial, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const userTable = pgTable("user", {
  id: text().primaryKey(),
  /** Trimmed and lower-cased before it is stored, so the unique index is case-insensitive. */
  email: text().notNull().unique(),
  name: text().notNull(),
  passwordHash: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/** Only a SHA-256 of the session token is stored: a leaked table does not let anyone sign in. */
export const sessionTable = pgTable(
  "session",
  {
    tokenHash: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (table) => [index("session_user").on(table.userId), index("session_expires").on(table.expiresAt)],
);

/** Failed logins, counted per email + IP for the rate limit (Postgres, no Redis). */
export const loginFailureTable = pgTable(
  "login_failure",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    email: text().notNull(),
    ip: text().notNull(),
    failedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("login_failure_lookup").on(table.email, table.ip, table.failedAt)],
);
