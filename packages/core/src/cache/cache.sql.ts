import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { tableAccess } from "../db/table-access";

/**
 * The Postgres cache store's entries (./postgres.ts). Created UNLOGGED (migration 0012, edited
 * by hand: drizzle-kit has no way to say it): writes skip the WAL, so a set costs no WAL flush
 * at commit and nothing is shipped to a standby or a read replica, and a crash empties the table,
 * which a cache may be. Expired rows are never served and maintenance.cleanup sweeps them hourly.
 */
export const cacheEntryTable = tableAccess(
  pgTable(
    "cache_entry",
    {
      /** `<namespace>:<key>` (cache.ts). */
      key: text().primaryKey(),
      /** JSON text, as the Valkey store keeps it: the same bytes read back from either. */
      value: text().notNull(),
      expiresAt: timestamp({ withTimezone: true }).notNull(),
    },
    (table) => [index("cache_entry_expires").on(table.expiresAt)],
  ),
  // A cached value may be anything a module computed (names, titles): never shown in the console.
  { sensitive: ["value"] },
);
