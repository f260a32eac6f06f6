import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { tableAccess } from "../db/table-access";

export const userRoles = ["member", "admin"] as const;
export type UserRole = (typeof userRoles)[number];

export const userTable = pgTable(
  "user",
  {
    id: text().primaryKey(),
    /** Trimmed and lower-cased before it is stored, so the unique index is case-insensitive. */
    email: text().notNull().unique(),
    name: text().notNull(),
    passwordHash: text().notNull(),
    /** When the owner proved the address is theirs (a verification link); null until then. */
    emailVerifiedAt: timestamp({ withTimezone: true }),
    /**
     * The addresses the account had before an email change, kept only so that deleting the account
     * also deletes what names them (mail, sign-in throttles, limit counters; ADR 025).
     */
    previousEmails: text().array().notNull().default(sql`'{}'::text[]`),
    /** `admin` reaches the operator console (/api/admin/*); granted by `npm run users` (ADR 028). */
    role: text({ enum: userRoles }).notNull().default("member"),
    /** Set by an operator: the account cannot sign in and has no sessions until enabled again. */
    disabledAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check("user_role_known", sql`${table.role} in ('member', 'admin')`)],
);
tableAccess(userTable, { sensitive: ["passwordHash"] });

/** Only a SHA-256 of the session token is stored: a leaked table does not let anyone sign in. */
export const sessionTable = pgTable(
  "session",
  {
    tokenHash: text().primaryKey(),
    /**
     * `ses_…`: the id the session list shows and `DELETE /api/auth/sessions/:id` takes. Not a
     * credential. The default only fills the rows from before the column (new ones get a
     * createID in account.ts).
     */
    id: text().notNull().unique().default(sql`'ses_' || replace(gen_random_uuid()::text, '-', '')`),
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    /** Written at most once per LAST_USED_INTERVAL_MINUTES (account.ts `authenticate`). */
    lastUsedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** "Firefox on macOS": a coarse reading of the sign-in's User-Agent (user-agent.ts). */
    device: text(),
  },
  (table) => [index("session_user").on(table.userId), index("session_expires").on(table.expiresAt)],
);
tableAccess(sessionTable, { sensitive: ["tokenHash"] });

export const accountTokenPurposes = ["verify_email", "reset_password", "change_email"] as const;
export type AccountTokenPurpose = (typeof accountTokenPurposes)[number];

/**
 * Single-use tokens mailed to the owner: email verification (24 h), password reset (1 h), email
 * change (24 h). Only the SHA-256 of the 32 random bytes is kept; a token is looked up by that
 * hash and deleted as it is used (tokens.ts). `email` is the address the mail went to: a token
 * for an address the account no longer has does nothing.
 */
export const accountTokenTable = pgTable(
  "account_token",
  {
    tokenHash: text().primaryKey(),
    userId: text()
      .notNull()
      .references(() => userTable.id, { onDelete: "cascade" }),
    purpose: text({ enum: accountTokenPurposes }).notNull(),
    email: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (table) => [
    index("account_token_user").on(table.userId, table.purpose),
    index("account_token_expires").on(table.expiresAt),
    check(
      "account_token_purpose_known",
      sql`${table.purpose} in ('verify_email', 'reset_password', 'change_email')`,
    ),
  ],
);
tableAccess(accountTokenTable, { sensitive: ["tokenHash"] });

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
