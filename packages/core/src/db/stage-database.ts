import { sql } from "drizzle-orm";
import { log } from "../log";
import { type Database, queryRows } from "./client";
import { MigrationError } from "./migrator";

/**
 * A preview stage's own database on its base stage's RDS instance (ADR 026). The migrator
 * (packages/functions/src/migrator.ts) creates it before migrating, as the instance's master
 * user connected to the maintenance database (`postgres`), and drops it, with the stage's app
 * role, when the stage is removed (its CRUD-scoped invocation's delete, infra/database.ts).
 *
 * Roles belong to the whole instance, databases do not: CONNECT is revoked from PUBLIC on the
 * stage's database, so another stage's app role (every role is in PUBLIC) cannot log into it;
 * the stage's own app role gets CONNECT from `ensureAppRole`, as on every stage.
 */

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** Databases no stage may create or drop as its own. */
const RESERVED = new Set(["postgres", "rdsadmin", "template0", "template1"]);

function checkName(kind: string, name: string) {
  if (!IDENTIFIER.test(name))
    throw new MigrationError(
      `${kind} ${JSON.stringify(name)}: expected a lower-case name of letters, digits and _`,
    );
  if (RESERVED.has(name)) throw new MigrationError(`${kind} ${name} is not a stage's own`);
}

/** The database of `url` (a postgres:// URL). */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The same server and login as `url`, in its maintenance database, where databases are made. */
export function maintenanceURL(url: string): string {
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  return maintenance.toString();
}

/** Creates the stage's database if it is missing, CONNECT for its roles only. Idempotent. */
export async function ensureStageDatabase(maintenance: Database, name: string): Promise<boolean> {
  checkName("Stage database", name);
  const [current] = await queryRows<{ name: string }>(
    maintenance,
    sql`select current_database() as name`,
  );
  if (current?.name === name)
    throw new MigrationError(
      `Stage database ${name}: connect to the maintenance database, not to it`,
    );
  const exists = async () =>
    (await queryRows(maintenance, sql`select 1 from pg_database where datname = ${name}`)).length >
    0;
  let created = false;
  if (!(await exists())) {
    // CREATE DATABASE cannot run in a transaction; two deploys racing: the second finds it.
    try {
      await maintenance.execute(sql.raw(`create database "${name}"`));
      created = true;
    } catch (error) {
      if (!(await exists())) throw error;
    }
  }
  await maintenance.execute(sql.raw(`revoke connect, temporary on database "${name}" from public`));
  log.info(created ? "stage database created" : "stage database exists", { database: name });
  return created;
}

/**
 * Drops the stage's database (closing its sessions: WITH (FORCE), Postgres 13+) and then its app
 * role, whose privileges all lived in that database. Idempotent: a second removal finds neither.
 */
export async function dropStageDatabase(
  maintenance: Database,
  name: string,
  appRole: string,
): Promise<void> {
  checkName("Stage database", name);
  checkName("App role", appRole);
  const [current] = await queryRows<{ name: string }>(
    maintenance,
    sql`select current_database() as name`,
  );
  if (current?.name === name)
    throw new MigrationError(
      `Stage database ${name}: connect to the maintenance database to drop it`,
    );
  await maintenance.execute(sql.raw(`drop database if exists "${name}" with (force)`));
  await maintenance.execute(sql.raw(`drop role if exists "${appRole}"`));
  log.info("stage database dropped", { database: name, role: appRole });
}
