import { eq, gt, sql } from "drizzle-orm";
import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { describe, expect, it, onTestFinished } from "vitest";
import { database } from "./client";
import { createTransaction, placeholder, prepared, rollback } from "./transaction";

/**
 * `prepared` queries (built once per database) run where `useTransaction` would: in the caller's
 * transaction, on its connection, savepoints included, else on the database. On Postgres a query
 * run on the pool instead would not see the transaction's uncommitted row; on PGlite it would wait
 * for the one connection the transaction holds, for ever (the test times out).
 */
async function scratch() {
  const name = `scratch_${Math.random().toString(36).slice(2, 10)}`;
  const { db } = await database();
  await db.execute(sql.raw(`create table ${name} (id text primary key, at timestamptz not null)`));
  onTestFinished(async () => {
    await db.execute(sql.raw(`drop table if exists ${name}`));
  });
  const table = pgTable(name, {
    id: text().primaryKey(),
    at: timestamp({ withTimezone: true }).notNull(),
  });
  const insert = prepared((db) =>
    db
      .insert(table)
      .values({ id: sql.placeholder("id"), at: sql.placeholder("at") })
      .returning()
      .prepare(`${name}_insert`),
  );
  const byID = prepared((db) =>
    db
      .select()
      .from(table)
      .where(eq(table.id, sql.placeholder("id")))
      .prepare(`${name}_by_id`),
  );
  const after = prepared((db) =>
    db
      .select({ id: table.id })
      .from(table)
      .where(gt(table.at, placeholder("after", table.at)))
      .prepare(`${name}_after`),
  );
  const move = prepared((db) =>
    db
      .update(table)
      .set({ at: placeholder("at", table.at) })
      .where(eq(table.id, sql.placeholder("id")))
      .returning({ id: table.id })
      .prepare(`${name}_move`),
  );
  return { insert, byID, after, move };
}

describe("prepared queries", () => {
  it("run in the caller's transaction and its savepoints, and on the database outside one", async () => {
    const q = await scratch();
    const at = new Date("2030-01-01T00:00:00Z");
    await rollback(async () => {
      await q.insert({ id: "in-tx", at });
      expect(await q.byID({ id: "in-tx" })).toEqual([{ id: "in-tx", at }]);
      await createTransaction(async () => {
        await q.insert({ id: "in-savepoint", at });
        expect(await q.byID({ id: "in-savepoint" })).toHaveLength(1);
      });
    });
    // Rolled back with the transaction: they were written on its connection.
    expect(await q.byID({ id: "in-tx" })).toEqual([]);
    expect(await q.byID({ id: "in-savepoint" })).toEqual([]);
    await q.insert({ id: "committed", at });
    expect(await q.byID({ id: "committed" })).toEqual([{ id: "committed", at }]);
  });

  it("take a Date for a timestamp through placeholder(), in conditions and in set", async () => {
    const q = await scratch();
    const at = new Date("2030-01-01T00:00:00Z");
    await q.insert({ id: "a", at });
    expect(await q.after({ after: new Date(at.getTime() - 1) })).toEqual([{ id: "a" }]);
    expect(await q.after({ after: at })).toEqual([]);
    const later = new Date(at.getTime() + 1000);
    expect(await q.move({ id: "a", at: later })).toEqual([{ id: "a" }]);
    expect(await q.byID({ id: "a" })).toEqual([{ id: "a", at: later }]);
  });

  it("refuse a missing value by name instead of sending null", async () => {
    const q = await scratch();
    await expect(q.byID({})).rejects.toThrow('No value for placeholder "id" was provided');
  });
});
