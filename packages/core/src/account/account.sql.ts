import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

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

/**
 * Login attempts per email and address block (an IPv4 address, an IPv6 /64: `addressBlock`)
 * since that block's last successful sign-in to it (a success deletes the row). Per block, so an
 * attacker taking every slot from their addresses holds back only those, never the owner's. The
 * attempt is counted before the password is checked (account.ts), so parallel guesses cannot all
 * be verified. Emails without an account get rows too: the same answers, the same work.
 */
export const loginThrottleTable = pgTable(
  "login_throttle",
  {
    /** Normalized as user.email is. */
    email: text().notNull(),
    /** `addressBlock` of the client's address. */
    block: text().notNull(),
    attempts: integer().notNull(),
    lastAttemptAt: timestamp({ withTimezone: true }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.email, table.block] }),
    index("login_throttle_last_attempt").on(table.lastAttemptAt),
  ],
);
