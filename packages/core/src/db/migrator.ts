import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
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

export interface AppRole {
  username: string;
  password: string;
}

/**
 * The password as Postgres stores it (a SCRAM-SHA-256 verifier, RFC 5802/7677, as libpq's
 * PQencryptPasswordConn makes it), so the password itself never reaches the server: not in a
 * statement, a parameter, a log line or pg_stat_activity. Knowing the verifier does not let one
 * log in. Printable ASCII only, which SASLprep leaves as it is.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const hmac = (key: Buffer, text: string) => createHmac("sha256", key).update(text).digest();
  const storedKey = createHash("sha256").update(hmac(salted, "Client Key")).digest();
  const serverKey = hmac(salted, "Server Key");
  const b64 = (bytes: Buffer) => bytes.toString("base64");
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/**
 * Statements of the app role, run by the owner in one DO block (role and verifier from settings).
 * A string, made SQL when run: `sql.raw` at module load ran before drizzle's `sql` was complete in
 * the esbuild bundles (TypeError at import: the server and the migrator Lambda crashed).
 */
const APP_ROLE_BLOCK = `do $block$
declare
  app text := current_setting('slipway.app_role');
  verifier text := current_setting('slipway.app_role_verifier');
  existing pg_roles%rowtype;
  member_of text;
begin
  if app = current_user then
    raise exception 'the app role % is the owner running the migrator', app;
  end if;
  select * into existing from pg_roles where rolname = app;
  if existing.rolname is not null then
    -- Attributes only a superuser may change; an app role that has one is not least privilege.
    if existing.rolsuper or existing.rolcreaterole or existing.rolcreatedb
       or existing.rolreplication or existing.rolbypassrls then
      raise exception 'the app role % has SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS', app;
    end if;
    execute format('alter role %I with login password %L', app, verifier);
  else
    execute format('create role %I with login password %L', app, verifier);
  end if;
  -- A member of another role (the owner's, rds_superuser) would inherit what that role may do.
  select string_agg(r.rolname, ', ') into member_of
    from pg_auth_members m join pg_roles r on r.oid = m.roleid
    where m.member = (select oid from pg_roles where rolname = app);
  if member_of is not null then
    raise exception 'the app role % is a member of %; revoke it', app, member_of;
  end if;
  execute format('grant connect on database %I to %I', current_database(), app);
  -- TEMP is PUBLIC's by default; the app needs no temporary tables (nor does anyone else here).
  execute format('revoke temporary on database %I from public', current_database());
  execute format('revoke temporary on database %I from %I', current_database(), app);
  execute format('grant usage on schema public to %I', app);
  execute format('grant select, insert, update, delete on all tables in schema public to %I', app);
  execute format('grant usage, select on all sequences in schema public to %I', app);
  -- Tables and sequences later migrations create (as this owner) get the same.
  execute format('alter default privileges in schema public grant select, insert, update, delete on tables to %I', app);
  execute format('alter default privileges in schema public grant usage, select on sequences to %I', app);
  -- Readiness compares the applied migrations with the folder's: read-only.
  if to_regclass('drizzle.__drizzle_migrations') is not null then
    execute format('grant usage on schema drizzle to %I', app);
    execute format('grant select on drizzle.__drizzle_migrations to %I', app);
  end if;
  if has_database_privilege(app, current_database(), 'TEMP') then
    raise exception 'the app role % can create temporary tables (TEMP granted by another role); revoke it', app;
  end if;
  -- Before Postgres 15 every role could create tables in public.
  if has_schema_privilege(app, 'public', 'CREATE') then
    raise exception 'the app role % can CREATE in schema public (granted to PUBLIC before Postgres 15); revoke it', app;
  end if;
end
$block$`;

/**
 * Creates or updates the app's login role: DML on every table and sequence of the schema (and,
 * through default privileges, on those later migrations add), read access to the applied
 * migrations, and nothing else: no DDL, no temporary tables (TEMP revoked from PUBLIC), no
 * ownership, no membership in another role. The password
 * is set on every run: rotating it is changing it where it is kept and deploying (README).
 * Run by the owner after `migrate`, under the migrator's lock.
 */
export async function ensureAppRole(db: Database, role: AppRole): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role.username)) {
    throw new MigrationError(
      `App role ${JSON.stringify(role.username)}: expected a lower-case name of letters, digits and _`,
    );
  }
  // Never the password in a message.
  if (!/^[\x20-\x7e]{16,}$/.test(role.password)) {
    throw new MigrationError(
      `App role ${role.username}: its password must be at least 16 printable ASCII characters`,
    );
  }
  const verifier = scramVerifier(role.password);
  await db
    .transaction(async (tx) => {
      await tx.execute(sql`set local statement_timeout = 0`);
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_KEY})`);
      // Values reach the block as settings of this transaction only, bound as parameters.
      await tx.execute(sql`select set_config('slipway.app_role', ${role.username}, true),
        set_config('slipway.app_role_verifier', ${verifier}, true)`);
      await tx.execute(sql.raw(APP_ROLE_BLOCK));
    })
    .catch((error: unknown) => {
      // The server's reason, not drizzle's "Failed query" with the block and its parameters.
      let reason = error;
      while (reason instanceof Error && reason.cause instanceof Error) reason = reason.cause;
      const message = reason instanceof Error ? reason.message : String(reason);
      throw new MigrationError(`App role ${role.username} not updated: ${message}`, {
        cause: reason,
      });
    });
  log.info("app role up to date", { role: role.username });
}
