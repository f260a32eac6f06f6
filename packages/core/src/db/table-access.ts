import { is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";

/**
 * What the operator console (admin/) may do with a table's columns, declared by the module next
 * to its `pgTable`: which columns are secrets (never read by the console, shown as hidden) and
 * which an operator may change (PATCH a row, audited). A table says nothing: every column is
 * shown (unless its name looks like a secret, below) and none is editable.
 *
 *   export const userTable = pgTable("user", { ... });
 *   tableAccess(userTable, { sensitive: ["passwordHash"] });
 *
 * Keys are the table's TypeScript column keys, so a renamed column fails to compile here.
 */
export interface TableAccess<Key extends string = string> {
  /** Never selected by the console, never filterable, shown as hidden. */
  sensitive?: readonly Key[];
  /** Columns an operator may set through the console's generic edit (audited). */
  editable?: readonly Key[];
}

type ColumnKey<T extends PgTable> = Extract<keyof T["_"]["columns"], string>;

const declared = new WeakMap<PgTable, Required<TableAccess>>();

/**
 * Names that hold secrets whatever the module declares (fail closed: a new `apiKeyHash` column
 * forgotten in `sensitive` is hidden anyway). Matched against the TypeScript key and the SQL name.
 */
export const SECRET_NAME = /hash|token|secret|password|api_?key|private_?key|credential/i;

/** Declares `table`'s console access (see `TableAccess`); returns the table. Once per table. */
export function tableAccess<T extends PgTable>(table: T, access: TableAccess<ColumnKey<T>>): T {
  if (declared.has(table)) throw new Error("tableAccess: declared twice for one table");
  const sensitive = [...(access.sensitive ?? [])];
  const editable = [...(access.editable ?? [])];
  const both = editable.filter((key) => sensitive.includes(key));
  if (both.length > 0) {
    throw new Error(`tableAccess: ${both.join(", ")} cannot be both sensitive and editable`);
  }
  declared.set(table, { sensitive, editable });
  return table;
}

/** The access `table` declared, or the default (nothing declared sensitive, nothing editable). */
export function accessOf(table: PgTable): Required<TableAccess> {
  return declared.get(table) ?? { sensitive: [], editable: [] };
}

/** A table of the app and the module whose `*.sql.ts` defines it. */
export interface RegisteredTable {
  module: string;
  table: PgTable;
}

/**
 * Every drizzle table among the exports of each module's `*.sql.ts` (passed as a namespace
 * import), as drizzle-kit finds them: a table a module adds to its file needs no other change.
 * The composition root (src/tables.ts) owns the list of modules.
 */
export function collectTables(
  modules: Record<string, Record<string, unknown>>,
): readonly RegisteredTable[] {
  const found: RegisteredTable[] = [];
  for (const [module, exports] of Object.entries(modules)) {
    for (const value of Object.values(exports)) {
      if (is(value, PgTable) && !found.some((entry) => entry.table === value)) {
        found.push({ module, table: value });
      }
    }
  }
  return found;
}
