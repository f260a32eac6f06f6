import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";

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
