import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A module writes only its own tables: another module's table may be read (a join), never
 * inserted into, updated or deleted from; that goes through the owning module's functions.
 * Biome cannot see what an import is used for, so this check reads the sources: for each file of
 * a module folder, the tables it imports from another folder's `*.sql.ts`, and any
 * `.insert(t)`, `.update(t)` or `.delete(t)` of one of them. Run by `npm run lint`.
 */

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
      `${v.file}: ${v.write} writes the ${v.owner} module's table; call a function of ${v.owner}/ instead\n`,
    );
  }
  if (violations.length > 0) process.exit(1);
  process.stdout.write("table writes: every module writes only its own tables\n");
}
