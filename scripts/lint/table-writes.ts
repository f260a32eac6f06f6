import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A module writes only its own tables: another module's table may be read (a join), never
 * inserted into, updated or deleted from; that goes through the owning module's functions.
 * Biome cannot see what an import is used for, so this check reads the sources: for each file of
 * a module folder, the tables it imports from another folder's `*.sql.ts`, and any
 * `.insert(t)`, `.update(t)` or `.delete(t)` of one of them. Run by `npm run lint`.
 *
 * A write of a table reached through a registry rather than an import (`.update(entry.table)`)
 * belongs to no module, so it is refused everywhere but the files in GENERIC_WRITERS, each with
 * its reason.
 */

/** The files that may write any module's table, through the table registry (src/tables.ts). */
export const GENERIC_WRITERS: Record<string, string> = {
  // ADR 028: the console's generic edit sets only the columns the owning module opted in with
  // tableAccess(…, { editable }) next to its pgTable, one row by its whole primary key, and
  // records it in the audit log in the same transaction. The module decided what may change;
  // its functions are not bypassed for anything it did not declare.
  "admin/tables.ts": "the operator console's generic edit of opted-in columns (ADR 028)",
};

const GENERIC = /\.(insert|update|delete)\(\s*[\w.]+\.table\b/;

export interface Violation {
  file: string;
  table: string;
  owner: string;
  write: string;
}

const IMPORT = /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"\.\.\/([^/"]+)\/[^"]+\.sql"/g;

/** The writes of other modules' tables in one file of module `module`. */
export function foreignWrites(file: string, module: string, source: string): Violation[] {
  const found: Violation[] = [];
  for (const [, names = "", owner = ""] of source.matchAll(IMPORT)) {
    if (owner === module) continue;
    for (const entry of names.split(",")) {
      const table = entry
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (!table) continue;
      const write = new RegExp(`\\.(insert|update|delete)\\(\\s*${table}\\b`).exec(source);
      if (write) found.push({ file, table, owner, write: `.${write[1]}(${table})` });
    }
  }
  const generic = GENERIC.exec(source);
  if (generic && !(file.split(path.sep).join("/") in GENERIC_WRITERS)) {
    found.push({ file, table: "(a registry's table)", owner: "any", write: generic[0] });
  }
  return found;
}

export function checkModules(src: string): Violation[] {
  return readdirSync(src, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && file.includes(path.sep))
    .flatMap((file) => {
      const module = file.split(path.sep)[0] ?? "";
      return foreignWrites(file, module, readFileSync(path.join(src, file), "utf8"));
    });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/core/src");
  const violations = checkModules(src);
  for (const v of violations) {
    process.stderr.write(
      v.owner === "any"
        ? `${v.file}: ${v.write}) writes a table from the registry; only GENERIC_WRITERS may (scripts/lint/table-writes.ts)\n`
        : `${v.file}: ${v.write} writes the ${v.owner} module's table; call a function of ${v.owner}/ instead\n`,
    );
  }
  if (violations.length > 0) process.exit(1);
  process.stdout.write("table writes: every module writes only its own tables\n");
}
