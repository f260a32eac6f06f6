import { gt, lte, sql } from "drizzle-orm";
import { placeholder, prepared, useTransaction } from "../db/transaction";
import { cacheEntryTable } from "./cache.sql";
import type { CacheStore } from "./port";

/**
 * The default cache store: an UNLOGGED table in the app's own database (no other service to run
 * or pay for). Like every query it joins the caller's transaction when one is open: a value
 * written in a transaction that rolls back is gone with it, and a delete commits with the write
 * that made the entry stale.
 */

const read = prepared((db) =>
  db
    .select({ value: cacheEntryTable.value })
    .from(cacheEntryTable)
    .where(
      sql`${cacheEntryTable.key} = ${sql.placeholder("key")} and ${gt(cacheEntryTable.expiresAt, placeholder("now", cacheEntryTable.expiresAt))}`,
    )
    .prepare("cache_get"),
);

const write = prepared((db) =>
  db
    .insert(cacheEntryTable)
    .values({
      key: sql.placeholder("key"),
      value: sql.placeholder("value"),
      expiresAt: sql.placeholder("expiresAt"),
    })
    .onConflictDoUpdate({
      target: cacheEntryTable.key,
      set: { value: sql`excluded.value`, expiresAt: sql`excluded.expires_at` },
    })
    .prepare("cache_set"),
);

const remove = prepared((db) =>
  db
    .delete(cacheEntryTable)
    .where(sql`${cacheEntryTable.key} = ${sql.placeholder("key")}`)
    .prepare("cache_delete"),
);

// A live counter goes up by one and keeps its expiry; an expired one starts again at 1.
const live = sql`${cacheEntryTable.expiresAt} > ${placeholder("now", cacheEntryTable.expiresAt)}`;
const bump = prepared((db) =>
  db
    .insert(cacheEntryTable)
    .values({ key: sql.placeholder("key"), value: "1", expiresAt: sql.placeholder("expiresAt") })
    .onConflictDoUpdate({
      target: cacheEntryTable.key,
      set: {
        value: sql`case when ${live} then (${cacheEntryTable.value}::bigint + 1)::text else '1' end`,
        expiresAt: sql`case when ${live} then ${cacheEntryTable.expiresAt} else excluded.expires_at end`,
      },
    })
    .returning({ value: cacheEntryTable.value })
    .prepare("cache_increment"),
);

/** `now` is the clock entries expire by (tests freeze it). */
export function createPostgresStore({ now = () => new Date() } = {}): CacheStore {
  return {
    async get(key) {
      const [row] = await read({ key, now: now() });
      return row?.value;
    },
    async set(key, value, ttlMs) {
      await write({ key, value, expiresAt: new Date(now().getTime() + ttlMs) });
    },
    async delete(key) {
      await remove({ key });
    },
    async increment(key, ttlMs) {
      const at = now();
      const [row] = await bump({ key, now: at, expiresAt: new Date(at.getTime() + ttlMs) });
      if (!row) throw new Error("cache increment returned nothing");
      return Number(row.value);
    },
    async close() {},
  };
}

/**
 * Deletes expired entries (maintenance.cleanup, hourly); returns how many. Reads never serve an
 * expired row and a set overwrites one, so until then they only take room.
 */
export async function prune(now = new Date()): Promise<number> {
  const deleted = await useTransaction((tx) =>
    tx
      .delete(cacheEntryTable)
      .where(lte(cacheEntryTable.expiresAt, now))
      .returning({ key: cacheEntryTable.key }),
  );
  return deleted.length;
}
