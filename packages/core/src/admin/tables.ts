import { type Column, getTableName, type SQL, sql } from "drizzle-orm";
import { getTableConfig, type PgColumn, type PgTable } from "drizzle-orm/pg-core";
import * as z from "zod";
import { accessOf, type RegisteredTable, SECRET_NAME } from "../db/table-access";
import { createTransaction } from "../db/transaction";
import { AppError, ConflictError, NotFoundError, ValidationError } from "../error";
import { atSite } from "../read-sites";
import * as Audit from "./audit";
import type { Filter, RowsQuery } from "./query";

/**
 * The console's generic browser (ADR 028): every table of the registry (src/tables.ts), its
 * columns as drizzle declares them (getTableConfig), and its rows keyset-paged by primary key,
 * filtered on indexed columns. A column the module marks sensitive (db/table-access.ts), or whose
 * name looks like a secret, is never selected: it is listed as hidden and cannot be filtered on.
 * Rows change only in the columns a module opted in as editable, and each change is audited.
 */

export const ColumnInfo = z.object({
  /** The SQL name (what filters take). */
  name: z.string(),
  /** The Postgres type, as drizzle declares it (`text`, `timestamp with time zone`, `integer`…). */
  type: z.string(),
  nullable: z.boolean(),
  primaryKey: z.boolean(),
  /** The leading column of an index, the primary key or a unique constraint: filters take it. */
  indexed: z.boolean(),
  /** A secret: never returned. */
  hidden: z.boolean(),
  /** May be set with PATCH …/rows (audited). */
  editable: z.boolean(),
});
export type ColumnInfo = z.infer<typeof ColumnInfo>;

export const TableInfo = z.object({
  name: z.string(),
  /** The module whose `*.sql.ts` defines it. */
  module: z.string(),
  columns: z.array(ColumnInfo),
  /** The columns rows are paged by (the primary key, or a visible unique column standing in). */
  pageKey: z.array(z.string()),
  /** Whether any column is editable. */
  editable: z.boolean(),
});
export type TableInfo = z.infer<typeof TableInfo>;

/** One JSON-safe row: timestamps as ISO strings, bigints and numerics as strings, bytes as base64. */
export const Row = z.record(z.string(), z.unknown());

export const RowsPage = z.object({
  table: z.string(),
  rows: z.array(Row),
  /** Pass back as `cursor`; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type RowsPage = z.infer<typeof RowsPage>;

/** A scalar JSON value, or JSON for a json/jsonb column. */
const Value = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const UpdateInput = z.strictObject({
  /** The row's primary key, every column of it by SQL name. */
  key: z.record(z.string(), Value),
  /** The editable columns to set, by SQL name. */
  set: z.record(z.string(), z.unknown()),
});
export type UpdateInput = z.infer<typeof UpdateInput>;

interface ColumnEntry extends ColumnInfo {
  key: string;
  column: PgColumn;
}

/** How a row is ordered and located: the column, or a digest of it when it is hidden. */
interface KeyPart {
  column: ColumnEntry;
  expression: SQL;
  /** Compared as text (a digest) rather than as the column's type. */
  digest: boolean;
}

interface Entry {
  info: TableInfo;
  table: PgTable;
  columns: ColumnEntry[];
  pageKey: KeyPart[];
  primaryKey: ColumnEntry[];
}

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The SQL name of a column under the app's `casing: "snake_case"` (db/client.ts). */
function sqlName(column: Column): string {
  return (column as Column & { keyAsName?: boolean }).keyAsName
    ? snakeCase(column.name)
    : column.name;
}

/** The SQL name of the table's column that a stand-in (extra config) column names. */
function snakeCaseIfKey(columns: readonly PgColumn[], name: string): string {
  const column = columns.find((c) => c.name === name);
  return column ? sqlName(column) : name;
}

const TEXT_TYPES = /^(text|varchar|character varying|char|character|citext)(\(|$)/;
const isText = (type: string) => TEXT_TYPES.test(type);
const isJSON = (type: string) => type === "json" || type === "jsonb";

function describe({ module, table }: RegisteredTable): Entry {
  const config = getTableConfig(table);
  const access = accessOf(table);
  const columns = config.columns;
  const keyOf = new Map(
    Object.entries(table as unknown as Record<string, unknown>).flatMap(([key, value]) =>
      columns.includes(value as PgColumn) ? [[value as PgColumn, key] as const] : [],
    ),
  );
  const leading = new Set<string>();
  for (const index of config.indexes) {
    const first = index.config.columns[0];
    if (first && "name" in first && typeof first.name === "string") {
      const column = columns.find((c) => c.name === first.name);
      if (column) leading.add(sqlName(column));
    }
  }
  for (const unique of config.uniqueConstraints) {
    const first = unique.columns[0];
    if (first) leading.add(snakeCaseIfKey(columns, first.name));
  }
  // The extra config's columns are stand-ins of the table's (drizzle's ExtraConfigColumn): by name.
  const composite = (config.primaryKeys[0]?.columns ?? []).map((c) => c.name);
  if (composite[0] !== undefined) leading.add(snakeCaseIfKey(columns, composite[0]));

  const entries: ColumnEntry[] = columns.map((column) => {
    const key = keyOf.get(column) ?? column.name;
    const name = sqlName(column);
    const hidden =
      access.sensitive.includes(key) || SECRET_NAME.test(key) || SECRET_NAME.test(name);
    const editable = access.editable.includes(key);
    if (editable && hidden) {
      throw new Error(
        `${getTableName(table)}.${name}: declared editable but its name marks it a secret (SECRET_NAME in db/table-access.ts); rename it`,
      );
    }
    const primaryKey = column.primary || composite.includes(column.name);
    return {
      key,
      column,
      name,
      type: column.getSQLType(),
      nullable: !column.notNull,
      primaryKey,
      indexed: primaryKey ? composite.length === 0 || leading.has(name) : false,
      hidden,
      editable,
    };
  });
  for (const entry of entries) {
    if (leading.has(entry.name) || entry.column.isUnique || entry.column.primary) {
      entry.indexed = true;
    }
  }
  const primaryKey = entries.filter((entry) => entry.primaryKey);
  // Ordered as the key declares them (a composite key's order is its index's).
  if (composite.length > 0) {
    primaryKey.sort((a, b) => composite.indexOf(a.column.name) - composite.indexOf(b.column.name));
  }
  // A hidden key column would show in the cursor: page by a visible unique column instead, or
  // else by a digest of the key (never reversible to the secret, still one order).
  let pageKey: KeyPart[];
  if (primaryKey.every((entry) => !entry.hidden)) {
    pageKey = primaryKey.map((column) => ({
      column,
      expression: sql`${column.column}`,
      digest: false,
    }));
  } else {
    const standIn = entries.find(
      (entry) => entry.column.isUnique && !entry.nullable && !entry.hidden,
    );
    pageKey = standIn
      ? [{ column: standIn, expression: sql`${standIn.column}`, digest: false }]
      : primaryKey.map((column) => ({
          column,
          expression: column.hidden
            ? sql`encode(sha256(convert_to(${column.column}::text, 'UTF8')), 'hex')`
            : sql`${column.column}`,
          digest: column.hidden,
        }));
  }
  const info: TableInfo = {
    name: getTableName(table),
    module,
    columns: entries.map(({ key: _key, column: _column, ...rest }) => rest),
    pageKey: pageKey.map((part) =>
      part.digest ? `sha256(${part.column.name})` : part.column.name,
    ),
    editable: entries.some((entry) => entry.editable),
  };
  return { info, table, columns: entries, pageKey, primaryKey };
}

/** What a query value or a key part becomes in SQL: a text parameter cast to the column's type. */
const typed = (value: string, column: ColumnEntry) => sql`${value}::${sql.raw(column.type)}`;

/** A row's values made JSON-safe. */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

/** The text form of a key value as the cursor carries it (and the type cast reads it back). */
function keyText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`;
  return String(value);
}

/** A SQLSTATE from drizzle's wrapper or the driver's error. */
function sqlState(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if ("code" in e && typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

export type TableBrowser = ReturnType<typeof createTableBrowser>;

/** The browser over `registry` (the composition root's src/tables.ts). */
export function createTableBrowser(registry: readonly RegisteredTable[]) {
  let described: Map<string, Entry> | undefined;
  const catalog = () => {
    described ??= new Map(
      registry
        .map(describe)
        .sort((a, b) => a.info.name.localeCompare(b.info.name))
        .map((entry) => [entry.info.name, entry]),
    );
    return described;
  };
  const find = (name: string) => {
    const entry = catalog().get(name);
    if (!entry) throw new NotFoundError(`No table "${name}"`);
    return entry;
  };

  function column(entry: Entry, name: string, path: string): ColumnEntry {
    const found = entry.columns.find((c) => c.name === name);
    if (!found) {
      throw new ValidationError([
        {
          path,
          message: `${entry.info.name} has no column "${name}"`,
          allowed: entry.columns.map((c) => c.name),
        },
      ]);
    }
    return found;
  }

  function condition(entry: Entry, filter: Filter): SQL {
    const path = `${filter.op}[${filter.column}]`;
    const target = column(entry, filter.column, path);
    const refuse = (message: string, allowed?: string[]) => {
      throw new ValidationError([{ path, message, ...(allowed ? { allowed } : {}) }]);
    };
    if (target.hidden) refuse(`${target.name} is hidden: it cannot be filtered on`);
    if (!target.indexed) {
      refuse(
        `${target.name} is not indexed: filters take only indexed columns`,
        entry.columns.filter((c) => c.indexed && !c.hidden).map((c) => c.name),
      );
    }
    if (isJSON(target.type) || target.type.endsWith("[]")) {
      refuse(`${target.name} is ${target.type}: filters take scalar columns`);
    }
    if (filter.op === "prefix") {
      if (!isText(target.type))
        refuse(`${target.name} is ${target.type}: prefix takes text columns`);
      return sql`starts_with(${target.column}, ${filter.value})`;
    }
    return sql`${target.column} = ${typed(filter.value, target)}`;
  }

  function decodeCursor(entry: Entry, cursor: string): string[] {
    let parts: unknown;
    try {
      parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    } catch {
      parts = undefined;
    }
    if (
      !Array.isArray(parts) ||
      parts.length !== entry.pageKey.length ||
      !parts.every((part) => typeof part === "string")
    ) {
      throw new ValidationError([
        { path: "cursor", message: "is not a cursor of this table (pass back nextCursor)" },
      ]);
    }
    return parts as string[];
  }

  return {
    /** Every table, by name. */
    list: (): TableInfo[] => [...catalog().values()].map((entry) => entry.info),

    /** One page of `name`'s rows in page-key order, hidden columns left out. */
    async rows(name: string, query: RowsQuery): Promise<RowsPage> {
      const entry = find(name);
      const visible = entry.columns.filter((c) => !c.hidden);
      const where = query.filters.map((filter) => condition(entry, filter));
      if (query.cursor !== undefined) {
        const after = decodeCursor(entry, query.cursor);
        const left = sql.join(
          entry.pageKey.map((part) => part.expression),
          sql`, `,
        );
        const right = sql.join(
          entry.pageKey.map((part, i) =>
            part.digest ? sql`${after[i]}::text` : typed(after[i] as string, part.column),
          ),
          sql`, `,
        );
        where.push(sql`(${left}) > (${right})`);
      }
      const selection: Record<string, SQL.Aliased | PgColumn> = {};
      for (const c of visible) selection[c.name] = c.column;
      entry.pageKey.forEach((part, i) => {
        selection[`__key${i}`] = sql<string>`${part.expression}::text`.as(`__key${i}`);
      });
      const rows = await atSite("admin.tableRows", () =>
        createTransaction((tx) =>
          tx
            .select(selection)
            .from(entry.table)
            .where(where.length > 0 ? sql.join(where, sql` and `) : undefined)
            .orderBy(...entry.pageKey.map((part) => part.expression))
            .limit(query.limit + 1),
        ),
      ).catch((error: unknown) => {
        // A value the column's type cannot take ("abc" for an integer, a bad timestamp).
        if (sqlState(error)?.startsWith("22")) {
          throw new ValidationError(
            [
              ...query.filters.map((f) => ({
                path: `${f.op}[${f.column}]`,
                message: "is not a value of the column's type",
              })),
              ...(query.cursor !== undefined
                ? [{ path: "cursor", message: "is not a cursor of this table" }]
                : []),
            ],
            "A filter value or the cursor does not fit its column's type",
          );
        }
        throw error;
      });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1) as Record<string, unknown> | undefined;
      const nextCursor =
        rows.length > query.limit && last
          ? Buffer.from(
              JSON.stringify(entry.pageKey.map((_, i) => keyText(last[`__key${i}`]))),
            ).toString("base64url")
          : null;
      return {
        table: entry.info.name,
        rows: page.map((row) =>
          Object.fromEntries(
            visible.map((c) => [c.name, jsonSafe((row as Record<string, unknown>)[c.name])]),
          ),
        ),
        nextCursor,
      };
    },

    /**
     * Sets editable columns of one row, found by its whole primary key, and records it in the
     * audit log (same transaction). Returns the row as `rows` shows it. The one generic write of
     * another module's tables (scripts/lint/table-writes.ts says why it is allowed).
     */
    async update(name: string, input: UpdateInput): Promise<Record<string, unknown>> {
      const entry = find(name);
      const { key, set } = UpdateInput.parse(input);
      if (!entry.info.editable) {
        throw new AppError("forbidden", `${entry.info.name} is read-only in the console`);
      }
      const keyNames = entry.primaryKey.map((c) => c.name);
      const issues = [
        ...Object.keys(key)
          .filter((k) => !keyNames.includes(k))
          .map((k) => ({
            path: `key.${k}`,
            message: "is not a column of the primary key",
            allowed: keyNames,
          })),
        ...keyNames
          .filter((k) => !(k in key) || key[k] === null)
          .map((k) => ({ path: `key.${k}`, message: "is required (the whole primary key)" })),
        ...Object.keys(set).flatMap((k) => {
          const target = entry.columns.find((c) => c.name === k);
          if (target?.editable) {
            const value = set[k];
            if (value === null && !target.nullable)
              return [{ path: `set.${k}`, message: "cannot be null" }];
            if (!isJSON(target.type) && typeof value === "object" && value !== null) {
              return [
                { path: `set.${k}`, message: `must be a ${target.type} value, not an object` },
              ];
            }
            return [];
          }
          return [
            {
              path: `set.${k}`,
              message: target ? "is not editable" : `${entry.info.name} has no column "${k}"`,
              allowed: entry.columns.filter((c) => c.editable).map((c) => c.name),
            },
          ];
        }),
      ];
      if (Object.keys(set).length === 0) issues.push({ path: "set", message: "names no column" });
      if (issues.length > 0) throw new ValidationError(issues);

      const values: Record<string, SQL | null> = {};
      for (const [k, value] of Object.entries(set)) {
        const target = entry.columns.find((c) => c.name === k) as ColumnEntry;
        values[target.key] =
          value === null
            ? null
            : isJSON(target.type)
              ? sql`${JSON.stringify(value)}::${sql.raw(target.type)}`
              : typed(String(value), target);
      }
      const match = sql.join(
        entry.primaryKey.map((c) => sql`${c.column} = ${typed(String(key[c.name]), c)}`),
        sql` and `,
      );
      const visible = entry.columns.filter((c) => !c.hidden);
      const returning: Record<string, PgColumn> = {};
      for (const c of visible) returning[c.name] = c.column;
      return createTransaction(async (tx) => {
        const [row] = await tx.update(entry.table).set(values).where(match).returning(returning);
        if (!row) throw new NotFoundError(`No ${entry.info.name} row has this key`, { key });
        await Audit.record({
          action: "table.update",
          target: `${entry.info.name}:${keyNames.map((k) => String(key[k])).join(",")}`,
          details: { table: entry.info.name, key, set: jsonSafe(set) },
        });
        return Object.fromEntries(visible.map((c) => [c.name, jsonSafe(row[c.name])]));
      }).catch((error: unknown) => {
        const state = sqlState(error);
        if (state === "23505")
          throw new ConflictError("Another row has this value", { set: Object.keys(set) });
        if (state?.startsWith("22") || state?.startsWith("23")) {
          throw new ValidationError(
            Object.keys(set).map((k) => ({
              path: `set.${k}`,
              message: "is refused by the column's type or a constraint",
            })),
            "The database refused the values",
          );
        }
        throw error;
      });
    },
  };
}

export type { Filter, RowsQuery };
