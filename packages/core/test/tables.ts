import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getTableName, is, sql } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { queryRows } from "../src/db/client";
import { useTransaction } from "../src/db/transaction";

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src");

/** Files under src/ whose name ends with `suffix`, test files excluded, as paths from src/. */
export function sourceFiles(suffix: string): string[] {
  return readdirSync(src, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(suffix) && !file.endsWith(".test.ts"))
    .sort();
}

/** Imports a file of src/ by its path from src/. */
export function importSource(file: string): Promise<Record<string, unknown>> {
  return import(path.join(src, file));
}

/**
 * Every table the app defines, found as drizzle-kit finds them: the exports of every `*.sql.ts`.
 * A module adds a table by writing it there; no list to keep.
 */
export async function appTables(): Promise<{ file: string; name: string; table: PgTable }[]> {
  const found: { file: string; name: string; table: PgTable }[] = [];
  for (const file of sourceFiles(".sql.ts")) {
    for (const value of Object.values(await importSource(file))) {
      if (is(value, PgTable)) found.push({ file, name: getTableName(value), table: value });
    }
  }
  return found;
}

/** The tables of the live schema (what the migrations made, whatever the code declares). */
export async function liveTables(): Promise<string[]> {
  const rows = await useTransaction((tx) =>
    queryRows<{ name: string }>(
      tx,
      sql`select table_name as name from information_schema.tables
           where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`,
    ),
  );
  return rows.map((row) => row.name);
}

/**
 * Every row of every live table whose text form holds any of `needles` (case aside): what a
 * "nothing names the user" or "the token is stored nowhere" check searches.
 */
export async function rowsHolding(...needles: string[]): Promise<{ table: string; row: string }[]> {
  const found: { table: string; row: string }[] = [];
  for (const table of await liveTables()) {
    const rows = await useTransaction((tx) =>
      queryRows<{ row: string }>(
        tx,
        sql`select r::text as row from ${sql.identifier(table)} as r
             where ${sql.join(
               needles.map((needle) => sql`strpos(lower(r::text), lower(${needle})) > 0`),
               sql` or `,
             )}`,
      ),
    );
    found.push(...rows.map(({ row }) => ({ table, row })));
  }
  return found;
}
