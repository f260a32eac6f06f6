import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { fixtureMigrations, freshDatabase } from "../../test/database";
import { type Executor, queryRows } from "./client";
import { MigrationError, migrate, migrationStatus, readMigrations } from "./migrator";

const counted = (db: Executor) =>
  queryRows<{ migration: string }>(db, sql`select migration from counter order by migration`);
const recorded = (db: Executor) =>
  queryRows<{ n: number }>(db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);

describe("migrator", () => {
  it("applies pending migrations once, and a second run applies nothing", async () => {
    const { handle } = await freshDatabase();
    const dir = fixtureMigrations("ok");

    expect(await migrate(handle.db, dir)).toEqual({
      applied: ["0000_create_counter", "0001_count_once"],
    });
    expect(await migrate(handle.db, dir)).toEqual({ applied: [] });

    expect(await counted(handle.db)).toEqual([{ migration: "0000" }, { migration: "0001" }]);
    expect(await migrationStatus(handle.db, readMigrations(dir))).toEqual({
      applied: ["0000_create_counter", "0001_count_once"],
      pending: [],
    });
  });

  it("never applies a migration twice when two runners start at once", async () => {
    const fresh = await freshDatabase();
    const dir = fixtureMigrations("ok");
    // Two connections (two processes' worth on Postgres), racing over the same migrations.
    const [a, b] = await Promise.all([fresh.connect(), fresh.connect()]);

    const [first, second] = await Promise.all([migrate(a.db, dir), migrate(b.db, dir)]);

    // Between them they applied each migration exactly once; the counter proves each ran once.
    expect([...first.applied, ...second.applied].sort()).toEqual([
      "0000_create_counter",
      "0001_count_once",
    ]);
    expect(await counted(fresh.handle.db)).toEqual([{ migration: "0000" }, { migration: "0001" }]);
    expect(await recorded(fresh.handle.db)).toEqual([{ n: 2 }]);
  });

  it("rolls a failing migration back whole, keeps the earlier ones, and names it", async () => {
    const { handle } = await freshDatabase();
    const dir = fixtureMigrations("failing");

    const error = await migrate(handle.db, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/0001_half_done failed and was rolled back/);

    // 0000 stays applied; nothing of 0001 (its table, its row, its record) is left behind.
    expect(await counted(handle.db)).toEqual([{ migration: "0000" }]);
    const [halfDone] = await queryRows<{ name: string | null }>(
      handle.db,
      sql`select to_regclass('half_done')::text as name`,
    );
    expect(halfDone?.name).toBeNull();
    expect(await migrationStatus(handle.db, readMigrations(dir))).toEqual({
      applied: ["0000_create_counter"],
      pending: ["0001_half_done"],
    });
    // Running again fails the same way and still changes nothing.
    await expect(migrate(handle.db, dir)).rejects.toThrow(/0001_half_done/);
    expect(await counted(handle.db)).toEqual([{ migration: "0000" }]);
  });

  it("refuses to run when an applied migration was edited afterwards", async () => {
    const { handle } = await freshDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), "slipway-migrations-"));
    cpSync(fixtureMigrations("ok"), dir, { recursive: true });
    await migrate(handle.db, dir);

    writeFileSync(path.join(dir, "0001_count_once.sql"), "SELECT 1;");
    // A new migration makes the run go past the fast path and look at every record.
    const journalPath = path.join(dir, "meta", "_journal.json");
    const journal = JSON.parse((await import("node:fs")).readFileSync(journalPath, "utf8")) as {
      entries: object[];
    };
    journal.entries.push({
      idx: 2,
      version: "7",
      when: 1767398400000,
      tag: "0002_more",
      breakpoints: true,
    });
    writeFileSync(journalPath, JSON.stringify(journal));
    writeFileSync(
      path.join(dir, "0002_more.sql"),
      `INSERT INTO "counter" ("migration") VALUES ('0002');`,
    );

    await expect(migrate(handle.db, dir)).rejects.toThrow(/0001_count_once was edited/);
    expect(await counted(handle.db)).toEqual([{ migration: "0000" }, { migration: "0001" }]);
  });

  it("treats a folder without a journal as no migrations", async () => {
    const { handle } = await freshDatabase();
    const dir = mkdtempSync(path.join(tmpdir(), "slipway-empty-"));
    expect(readMigrations(dir)).toEqual([]);
    expect(await migrate(handle.db, dir)).toEqual({ applied: [] });
  });
});
