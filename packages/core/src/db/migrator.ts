import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { log } from "../log";
import { type Database, type Executor, queryRows } from "./client";

/**
 * The one migrator: dev boot, tests and the deploy-time function all call `migrate`.
 *
 * It reads drizzle-kit's output (`migrations/meta/_journal.json` + SQL files) and records applied
 * migrations in drizzle's own table (`drizzle.__drizzle_migrations`), so `drizzle-kit migrate`
 * and this agree. What it adds over drizzle's migrator:
 * - an advisory lock, so concurrent runners (two deploys, a deploy and a dev boot) never apply
 *   a migration twice;
 * - one transaction per migration, so a failing one leaves the database as it was before it,
 *   with the earlier ones kept and the error naming the migration;
 * - a check that an applied migration was not edited afterwards.
 * Statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY) are not supported.
 */

export interface Migration {
  tag: string;
  /** The journal's `when`: drizzle's identity of a migration. */
  createdAt: number;
  hash: string;
  statements: string[];
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

// Any constant works; it only has to be the same for every runner of this app.
const LOCK_KEY = 7_380_213_504_117_001;

/** Migrations in journal order. A folder without a journal (no migration generated yet) has none. */
export function readMigrations(dir: string): Migration[] {
  const journalPath = path.join(dir, "meta", "_journal.json");
  if (!existsSync(journalPath)) return [];
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  return readMigrationFiles({ migrationsFolder: dir }).map((file, index) => ({
    tag: journal.entries[index]?.tag ?? String(file.folderMillis),
    createdAt: file.folderMillis,
    hash: file.hash,
    statements: file.sql.map((statement) => statement.trim()).filter(Boolean),
  }));
}

interface AppliedRow {
  hash: string;
  created_at: string | number;
}

async function appliedMigrations(executor: Executor): Promise<Map<number, string>> {
  // to_regclass instead of catching "relation does not exist": an error would abort the
  // caller's transaction (a request or a test runs inside one).
  const [table] = await queryRows<{ name: string | null }>(
    executor,
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as name`,
  );
  if (!table?.name) return new Map();
  const rows = await queryRows<AppliedRow>(
    executor,
    sql`select hash, created_at from drizzle.__drizzle_migrations`,
  );
  return new Map(rows.map((row) => [Number(row.created_at), row.hash]));
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

export async function migrationStatus(
  executor: Executor,
  migrations: Migration[],
): Promise<MigrationStatus> {
  const applied = await appliedMigrations(executor);
  const status: MigrationStatus = { applied: [], pending: [] };
  for (const migration of migrations) {
    (applied.has(migration.createdAt) ? status.applied : status.pending).push(migration.tag);
  }
  return status;
}

/** Applies every pending migration in `dir`. Returns the tags it applied (none when up to date). */
export async function migrate(db: Database, dir: string): Promise<{ applied: string[] }> {
  const migrations = readMigrations(dir);
  // Fast path without the lock: every boot of an up-to-date database ends here.
  const { pending } = await migrationStatus(db, migrations);
  if (pending.length === 0) return { applied: [] };

  const appliedNow: string[] = [];
  for (const migration of migrations) {
    const started = performance.now();
    const ran = await db
      .transaction(async (tx) => {
        // A migration may rewrite a big table: no statement timeout (the app's is for requests).
        await tx.execute(sql`set local statement_timeout = 0`);
        // Held until this transaction ends; a second runner waits here, then sees it applied.
        await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEY})`);
        await tx.execute(sql`create schema if not exists drizzle`);
        await tx.execute(sql`create table if not exists drizzle.__drizzle_migrations (
          id serial primary key, hash text not null, created_at bigint)`);
        const applied = await appliedMigrations(tx);
        const appliedHash = applied.get(migration.createdAt);
        if (appliedHash !== undefined) {
          if (appliedHash !== migration.hash) {
            throw new MigrationError(
              `Migration ${migration.tag} was edited after it was applied; add a new migration instead`,
            );
          }
          return false;
        }
        for (const statement of migration.statements) await tx.execute(sql.raw(statement));
        await tx.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at)
          values (${migration.hash}, ${migration.createdAt})`);
        return true;
      })
      .catch((error: unknown) => {
        if (error instanceof MigrationError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrationError(
          `Migration ${migration.tag} failed and was rolled back: ${reason}`,
          {
            cause: error,
          },
        );
      });
    if (ran) {
      appliedNow.push(migration.tag);
      log.info("migration applied", {
        migration: migration.tag,
        durationMs: Math.round(performance.now() - started),
      });
    }
  }
  return { applied: appliedNow };
}
