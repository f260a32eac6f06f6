import { sql } from "drizzle-orm";
import { config } from "../config";
import { queryRows } from "../db/client";
import { migrationStatus, readMigrations } from "../db/migrator";
import { useTransaction } from "../db/transaction";
import { AppError } from "../error";
import { log } from "../log";

const DATABASE_TIMEOUT_MS = 3000;

export interface Readiness {
  migrations: { applied: number };
}

/**
 * Ready = the database answers and every migration in the migrations folder is applied.
 * Throws `not_ready` (503) with the reason otherwise. The folder is read on each call so a
 * migration generated while the dev server runs shows up as pending.
 */
export async function readiness(): Promise<Readiness> {
  const migrations = readMigrations(config().migrationsDir);
  let timer: NodeJS.Timeout | undefined;
  const status = await Promise.race([
    useTransaction(async (tx) => {
      await queryRows(tx, sql`select 1`);
      return migrationStatus(tx, migrations);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), DATABASE_TIMEOUT_MS);
    }),
  ])
    .catch((error: unknown) => {
      // The driver's message can name internal hosts: log it, answer with a generic reason.
      log.warn("readiness: database check failed", { error });
      throw new AppError("not_ready", "The database is not reachable");
    })
    .finally(() => clearTimeout(timer));

  if (status.pending.length > 0) {
    throw new AppError("not_ready", `${status.pending.length} migration(s) not applied yet`, {
      pending: status.pending,
    });
  }
  return { migrations: { applied: status.applied.length } };
}
