import { sql } from "drizzle-orm";
import { index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Every operator action: through the console (an admin, by user id and email) or the `npm run
 * users` CLI (`cli:<os user>`). Written only by `Audit.record` (audit.ts), in the transaction of
 * the action it records; the console shows it and has no route that changes it (ADR 028). No
 * foreign key on the actor: the record outlives the account.
 */
export const adminAuditTable = pgTable(
  "admin_audit",
  {
    /** `aud_<ulid>`: time-ordered, so it is the newest-first keyset cursor. */
    id: text().primaryKey(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** The admin's user id; null for the CLI. */
    actorUserId: text(),
    /** Who, for people: the admin's email at the time, or `cli:<os user>`. */
    actor: text().notNull(),
    /** `<thing>.<verb>`: `user.disable`, `user.grant-admin`, `table.update`, `task.redrive`… */
    action: text().notNull(),
    /** What it was done to: a user id, `note:not_…`, a task id; null when it has no one target. */
    target: text(),
    /** The request's `x-request-id`; null from the CLI. */
    requestId: text(),
    details: jsonb().notNull().default(sql`'{}'::jsonb`),
  },
  (table) => [index("admin_audit_target").on(table.target), index("admin_audit_at").on(table.at)],
);
