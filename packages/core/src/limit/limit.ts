import { and, eq, lt, sql } from "drizzle-orm";
import * as z from "zod";
import { inTransaction, prepared, useTransaction } from "../db/transaction";
import { rateLimitTable } from "./limit.sql";

/**
 * A Postgres-backed rate limiter: fixed windows, one counter row per key per window.
 *
 * Why fixed windows and not a sliding log: a hit is one upsert on one row whatever the traffic,
 * so a flood costs no more storage than one caller (a log stores a row per hit, exactly what an
 * attacker sends most of). The price is the boundary: up to 2 × limit can pass across the end
 * of one window and the start of the next, which is fine for abuse caps like these.
 */

export const Rule = z.strictObject({
  /** Hits allowed per window; the (limit + 1)th is refused. */
  limit: z.number().int().min(1),
  windowSeconds: z.number().int().min(1),
});
export type Rule = z.infer<typeof Rule>;

export interface Outcome {
  allowed: boolean;
  /** Hits in this window, this one included (refused ones count too). */
  count: number;
  /** When refused, seconds until the window ends (at least 1); 0 when allowed. */
  retryAfterSeconds: number;
}

function windowOf(rule: Rule, now: Date) {
  const ms = rule.windowSeconds * 1000;
  const start = Math.floor(now.getTime() / ms) * ms;
  return { start: new Date(start), end: new Date(start + ms) };
}

function outcome(rule: Rule, count: number, end: Date, now: Date): Outcome {
  const allowed = count <= rule.limit;
  return {
    allowed,
    count,
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000)),
  };
}

// A hit runs on most writes (the write-rate middleware): built once (db/transaction.ts `prepared`).
const bump = prepared((db) =>
  db
    .insert(rateLimitTable)
    .values({
      key: sql.placeholder("key"),
      windowStart: sql.placeholder("start"),
      expiresAt: sql.placeholder("end"),
      count: 1,
    })
    .onConflictDoUpdate({
      target: [rateLimitTable.key, rateLimitTable.windowStart],
      set: { count: sql`${rateLimitTable.count} + 1` },
    })
    .returning({ count: rateLimitTable.count })
    .prepare("limit_hit"),
);

/**
 * Counts a hit on `key` and says whether it is within `rule`. One statement (an upsert that
 * returns the new count), so concurrent hits never both read the same count: of 50 parallel
 * hits on a limit of 5, exactly 5 are allowed. A refused hit counts too, so hammering does not
 * reopen the window. Called inside a transaction, the hit is undone if that transaction rolls
 * back and the row stays locked until it ends: call it outside one (as the write-rate
 * middleware does) for a count that sticks whatever the request's outcome.
 */
export async function hit(key: string, rule: Rule, now = new Date()): Promise<Outcome> {
  const checked = Rule.parse(rule);
  const { start, end } = windowOf(checked, now);
  const [row] = await bump({ key, start, end });
  if (!row) throw new Error("upsert returned nothing");
  return outcome(checked, row.count, end, now);
}

/**
 * The state of `key`'s current window without counting a hit: `allowed` says whether one more
 * hit would pass. For reads that must not spend the budget (showing a limit, a pre-check).
 */
export async function peek(key: string, rule: Rule, now = new Date()): Promise<Outcome> {
  const checked = Rule.parse(rule);
  const { start, end } = windowOf(checked, now);
  const [row] = await useTransaction((tx) =>
    tx
      .select({ count: rateLimitTable.count })
      .from(rateLimitTable)
      .where(and(eq(rateLimitTable.key, key), eq(rateLimitTable.windowStart, start))),
  );
  const count = row?.count ?? 0;
  // What the next hit would see.
  return { ...outcome(checked, count + 1, end, now), count };
}

/**
 * Holds a lock on `key` until the caller's transaction ends (a Postgres advisory lock, so no
 * table is touched): check-then-insert quotas call it first, so two requests never both count
 * the same total. Outside a transaction it would be released at once, so it refuses to run there.
 */
export async function lock(key: string): Promise<void> {
  if (!inTransaction()) throw new Error("Limit.lock needs a transaction (createTransaction)");
  await advisoryLock({ key });
}

// A select from one row, not `execute`, so it can be prepared (every note and upload create).
const advisoryLock = prepared((db) =>
  db
    .select({
      // hashtextextended: a 64-bit key; a collision only makes two keys wait for each other.
      locked: sql`pg_advisory_xact_lock(hashtextextended(${sql.placeholder("key")}, 0))`,
    })
    .from(sql`(values (1)) as one`)
    .prepare("limit_lock"),
);

/**
 * The one lock a user's quota checks share (notes, attachment bytes): a create of either kind
 * waits for the other's count-and-insert, always taken before any row lock.
 */
export const quotaLock = (userID: string) => `quota:${userID}`;

/**
 * Gives back one hit taken by `hit(key, rule, now)` with the same `now` (so the same window), for
 * an outcome the limit is not meant to count (a correct sign-in, a request never served). Never
 * below zero; a window already gone is left alone.
 */
export async function release(key: string, rule: Rule, now = new Date()): Promise<void> {
  const { start } = windowOf(Rule.parse(rule), now);
  await useTransaction((tx) =>
    tx
      .update(rateLimitTable)
      .set({ count: sql`greatest(${rateLimitTable.count} - 1, 0)` })
      .where(and(eq(rateLimitTable.key, key), eq(rateLimitTable.windowStart, start))),
  );
}

/** Forgets every window of `key` (e.g. a login's failures once it succeeds). */
export async function reset(key: string): Promise<void> {
  await useTransaction((tx) => tx.delete(rateLimitTable).where(eq(rateLimitTable.key, key)));
}

/** Deletes windows that have ended (maintenance.cleanup runs it); returns how many. */
export async function prune(now = new Date()): Promise<number> {
  const deleted = await useTransaction((tx) =>
    tx
      .delete(rateLimitTable)
      .where(lt(rateLimitTable.expiresAt, now))
      .returning({ key: rateLimitTable.key }),
  );
  return deleted.length;
}
