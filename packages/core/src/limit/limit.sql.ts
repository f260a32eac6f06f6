import { index, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Fixed-window rate-limit counters: one row per key per window, bumped by one upsert (limit.ts).
 * `expiresAt` is the window's end, so maintenance.cleanup prunes by it without knowing the rule.
 */
export const rateLimitTable = pgTable(
  "rate_limit",
  {
    /** `<what>:<who>`, e.g. `writes:usr_…` or `login:ip:203.0.113.7`. */
    key: text().notNull(),
    windowStart: timestamp({ withTimezone: true }).notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    count: integer().notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.key, table.windowStart] }),
    index("rate_limit_expires").on(table.expiresAt),
  ],
);
