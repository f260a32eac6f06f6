import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { InferResponseType } from "hono/client";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { Link } from "wouter";
import { type Api, call } from "../api";
import { Field, FormError } from "../components/field";
import { formErrors } from "../components/form";
import { useApi } from "../hooks";
import { NotFound } from "../pages/not-found";
import {
  type Column,
  errorMessage,
  type FilterField,
  Filters,
  PagedTable,
  usePaged,
} from "./table";

type TableInfo = InferResponseType<Api["api"]["admin"]["tables"]["$get"], 200>["tables"][number];
type ColumnInfo = TableInfo["columns"][number];
type Row = Record<string, unknown>;

const isText = (column: ColumnInfo) =>
  /^(text|varchar|character|char|citext|uuid)/.test(column.type);
const isBoolean = (column: ColumnInfo) => column.type === "boolean";
const isNumber = (column: ColumnInfo) =>
  /^(integer|smallint|bigint|serial|numeric|real|double|decimal)/.test(column.type);

function useTables() {
  const api = useApi();
  return useQuery({
    queryKey: ["admin", "tables"],
    queryFn: () => call(api.api.admin.tables.$get()),
    staleTime: 60_000,
  });
}

/** Every table of the app's modules, from their drizzle definitions. */
export function Tables() {
  const tables = useTables();
  const rows = tables.data?.tables ?? [];
  const columns: Column<TableInfo>[] = [
    { header: "Table", cell: (t) => <Link href={`/tables/${t.name}`}>{t.name}</Link> },
    { header: "Module", cell: (t) => t.module },
    { header: "Columns", numeric: true, cell: (t) => t.columns.length },
    {
      header: "Hidden columns",
      cell: (t) =>
        t.columns
          .filter((c) => c.hidden)
          .map((c) => c.name)
          .join(", ") || "—",
    },
    { header: "Edits", cell: (t) => (t.editable ? "Some columns" : "Read-only") },
  ];
  return (
    <section aria-labelledby="admin-tables-title">
      <h1 id="admin-tables-title">Tables</h1>
      <PagedTable
        caption="The app's tables"
        columns={columns}
        rowKey={(t) => t.name}
        paged={{ query: tables, rows, page: 1 }}
        empty="The app declares no tables."
      />
    </section>
  );
}

/** A value as text: JSON for objects, `null` for none. */
function shown(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** One table's rows, paged by its key, filtered on its indexed columns; hidden columns say so. */
export function TableRows({ name }: { name: string }) {
  const api = useApi();
  const tables = useTables();
  const table = tables.data?.tables.find((t) => t.name === name);
  const [filters, setFilters] = useState<Record<string, string>>({});
  const [editing, setEditing] = useState<Row>();
  const [notice, setNotice] = useState("");
  const filterable = (table?.columns ?? []).filter((c) => c.indexed && !c.hidden);
  const rows = usePaged(["admin", "rows", name, filters], async (cursor) => {
    const query: Record<string, string> = cursor ? { cursor } : {};
    for (const [column, value] of Object.entries(filters)) {
      const info = filterable.find((c) => c.name === column);
      // Text starts with what was typed; anything else (a number, a time, a flag) is equal to it.
      query[`${info && isText(info) ? "prefix" : "filter"}[${column}]`] = value;
    }
    // The route reads its filters from the raw query (`filter[col]`), which the typed client
    // cannot spell: passed as a variable, the extra `query` reaches hc unchecked.
    const args = { param: { name }, query };
    const page = await call(api.api.admin.tables[":name"].rows.$get(args));
    return { rows: page.rows, nextCursor: page.nextCursor };
  });
  // Changing to another table starts with no filter and no row open.
  const [shownName, setShownName] = useState(name);
  if (shownName !== name) {
    setShownName(name);
    setFilters({});
    setEditing(undefined);
  }

  if (tables.isPending) return <p role="status">Loading…</p>;
  if (tables.isError) return <FormError message={errorMessage(tables.error)} />;
  if (!table) return <NotFound />;

  const columns: Column<Row>[] = table.columns.map((column) => ({
    header: column.name,
    numeric: isNumber(column),
    cell: (row: Row) =>
      column.hidden ? (
        <span className="hidden-value">hidden</span>
      ) : row[column.name] === null ? (
        <span className="muted">null</span>
      ) : typeof row[column.name] === "object" ? (
        <pre>{JSON.stringify(row[column.name], null, 2)}</pre>
      ) : (
        shown(row[column.name])
      ),
  }));
  const keyOf = (row: Row) => table.pageKey.map((k) => shown(row[k])).join(" / ");
  if (table.editable) {
    columns.push({
      header: "Actions",
      cell: (row) => (
        <button type="button" className="secondary" onClick={() => setEditing(row)}>
          Edit<span className="visually-hidden"> row {keyOf(row)}</span>
        </button>
      ),
    });
  }
  const fields: FilterField[] = filterable.map((c) => ({
    name: c.name,
    label: isText(c) ? `${c.name} starts with` : `${c.name} equals`,
  }));
  return (
    <section aria-labelledby="admin-rows-title">
      <p>
        <Link href="/tables">All tables</Link>
      </p>
      <h1 id="admin-rows-title">Table {table.name}</h1>
      <p className="muted">
        Module {table.module}. {table.editable ? "Some columns can be edited." : "Read-only."}{" "}
        Hidden columns hold secrets and are never sent here.
      </p>
      {fields.length > 0 ? (
        <Filters
          label={`Filter ${table.name}`}
          fields={fields}
          values={filters}
          onChange={setFilters}
        />
      ) : null}
      <p role="status" className="notice">
        {notice}
      </p>
      {editing ? (
        <EditRow
          table={table}
          row={editing}
          label={keyOf(editing)}
          onDone={(message) => {
            setEditing(undefined);
            if (message) setNotice(message);
          }}
        />
      ) : null}
      <PagedTable
        caption={`Rows of ${table.name}, by ${table.pageKey.join(", ")}`}
        columns={columns}
        rowKey={keyOf}
        paged={rows}
        empty={
          Object.keys(filters).length > 0 ? "No row matches these filters." : "This table is empty."
        }
      />
    </section>
  );
}

/** The text typed for a column, as the JSON value the API takes for it. */
function parsed(column: ColumnInfo, text: string): unknown {
  if (text === "" && column.nullable) return null;
  if (isBoolean(column)) return text === "true";
  if (isNumber(column) && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (column.type === "json" || column.type === "jsonb") {
    try {
      return JSON.parse(text);
    } catch {
      return text; // the API says what is wrong with it
    }
  }
  return text;
}

function EditRow(props: {
  table: TableInfo;
  row: Row;
  label: string;
  onDone: (message?: string) => void;
}) {
  const api = useApi();
  const client = useQueryClient();
  const { table, row } = props;
  const editable = table.columns.filter((c) => c.editable);
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  const save = useMutation({
    mutationFn: (set: Record<string, unknown>) => {
      const primary = table.columns.filter((c) => c.primaryKey).map((c) => c.name);
      const key = Object.fromEntries(primary.map((k) => [k, row[k] as string | number | boolean]));
      return call(
        api.api.admin.tables[":name"].rows.$patch({
          param: { name: table.name },
          json: { key, set },
        }),
      );
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: ["admin", "rows", table.name] });
      props.onDone(`Row ${props.label} of ${table.name} is saved.`);
    },
  });
  const { form, fields } = formErrors(
    save.error,
    editable.map((c) => `set.${c.name}`),
  );
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    save.mutate(
      Object.fromEntries(editable.map((c) => [c.name, parsed(c, String(data.get(c.name) ?? ""))])),
    );
  };
  return (
    <section aria-labelledby="edit-row-title" className="panel">
      <h2 id="edit-row-title" ref={headingRef} tabIndex={-1}>
        Edit row {props.label}
      </h2>
      <form noValidate onSubmit={submit}>
        <FormError message={form ? errorMessage(save.error) : undefined} />
        {editable.map((c) => (
          <Field
            key={c.name}
            label={`${c.name} (${c.type})`}
            name={c.name}
            defaultValue={row[c.name] === null ? "" : shown(row[c.name])}
            error={fields[`set.${c.name}`]}
          />
        ))}
        <div className="row">
          <button type="submit" disabled={save.isPending}>
            {save.isPending ? "Saving…" : "Save"}
          </button>
          <button type="button" className="secondary" onClick={() => props.onDone()}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
