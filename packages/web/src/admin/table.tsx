import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../api";
import { FormError } from "../components/field";

/** One page of a keyset-paged list, as every admin list route answers. */
export interface Page<Row> {
  rows: Row[];
  nextCursor: string | null;
}

/**
 * A keyset-paged list: the cursors of the pages seen so far, so "Previous" goes back without the
 * API paging backwards. A change of `key` (a new filter) starts again at the first page.
 */
export function usePaged<Row>(
  key: readonly unknown[],
  fetchPage: (cursor: string | undefined) => Promise<Page<Row>>,
  options: { refetchInterval?: number } = {},
) {
  const keyText = JSON.stringify(key);
  const [state, setState] = useState({ keyText, cursors: [undefined] as (string | undefined)[] });
  const cursors = state.keyText === keyText ? state.cursors : [undefined];
  if (state.keyText !== keyText) setState({ keyText, cursors });
  const cursor = cursors[cursors.length - 1];
  const query = useQuery({
    queryKey: [...key, cursor ?? null],
    queryFn: () => fetchPage(cursor),
    // The page stays on screen while the next one loads, so the table does not jump.
    placeholderData: keepPreviousData,
    refetchInterval: options.refetchInterval,
  });
  const next = query.isPlaceholderData ? null : (query.data?.nextCursor ?? null);
  return {
    query,
    rows: query.data?.rows ?? [],
    page: cursors.length,
    next: next ? () => setState({ keyText, cursors: [...cursors, next] }) : undefined,
    previous:
      cursors.length > 1 ? () => setState({ keyText, cursors: cursors.slice(0, -1) }) : undefined,
  };
}

export type Paged<Row> = ReturnType<typeof usePaged<Row>>;

export interface Column<Row> {
  header: string;
  cell: (row: Row) => ReactNode;
  /** Numbers align right, as people compare them. */
  numeric?: boolean;
}

/**
 * An accessible table of one page of rows: a caption naming it, column headers, a polite status
 * saying which page is shown, "Previous"/"Next page" buttons, and what to say when there are no
 * rows. Wide tables scroll inside their own focusable region (a keyboard can scroll it), never
 * the page sideways.
 */
export function PagedTable<Row>(props: {
  caption: string;
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => string;
  /** usePaged's list, or one unpaged list (`page: 1`, no next or previous). */
  paged: {
    query: { isPending: boolean; isSuccess: boolean; error: unknown };
    rows: readonly Row[];
    page: number;
    next?: () => void;
    previous?: () => void;
  };
  empty: ReactNode;
}) {
  const { caption, columns, paged } = props;
  const id = useId();
  const { query, rows } = paged;
  return (
    <div className="admin-table">
      {query.isPending ? <p role="status">Loading…</p> : null}
      <FormError message={query.error ? errorMessage(query.error) : undefined} />
      {query.isSuccess && rows.length === 0 ? <p className="empty">{props.empty}</p> : null}
      {rows.length > 0 ? (
        // A named, focusable section: a region a keyboard can focus to scroll (WCAG 2.1.1).
        <section
          className="table-scroll"
          aria-labelledby={`${id}-caption`}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus so a keyboard can scroll it
          tabIndex={0}
        >
          <table>
            <caption id={`${id}-caption`}>{caption}</caption>
            <thead>
              <tr>
                {columns.map((column) => (
                  <th
                    key={column.header}
                    scope="col"
                    className={column.numeric ? "num" : undefined}
                  >
                    {column.header}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={props.rowKey(row)}>
                  {columns.map((column) => (
                    <td key={column.header} className={column.numeric ? "num" : undefined}>
                      {column.cell(row)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {paged.next || paged.previous ? (
        <nav className="pager" aria-label={`${caption}: pages`}>
          <button
            type="button"
            className="secondary"
            onClick={paged.previous}
            disabled={!paged.previous}
          >
            Previous page
          </button>
          <span role="status">Page {paged.page}</span>
          <button type="button" className="secondary" onClick={paged.next} disabled={!paged.next}>
            Next page
          </button>
        </nav>
      ) : null}
    </div>
  );
}

export interface FilterField {
  name: string;
  label: string;
  /** A choice among these (the first, "", meaning any), else free text. */
  options?: readonly { value: string; label: string }[];
  placeholder?: string;
}

/**
 * The filters of a table: a search landmark with labelled fields, applied on submit (Enter in a
 * field works), and cleared in one step. Empty fields are left out of the values.
 */
export function Filters(props: {
  label: string;
  fields: readonly FilterField[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  const id = useId();
  const formRef = useRef<HTMLFormElement>(null);
  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const entries = [...new FormData(event.currentTarget)].map(([k, v]) => [k, String(v).trim()]);
    props.onChange(Object.fromEntries(entries.filter(([, v]) => v !== "")));
  };
  // Cleared from outside (another table chosen): the fields follow.
  const valuesText = JSON.stringify(props.values);
  useEffect(() => {
    const values = JSON.parse(valuesText) as Record<string, string>;
    for (const element of formRef.current?.elements ?? []) {
      if (element instanceof HTMLInputElement || element instanceof HTMLSelectElement)
        element.value = values[element.name] ?? "";
    }
  }, [valuesText]);
  const active = Object.keys(props.values).length > 0;
  return (
    <search aria-label={props.label}>
      <form ref={formRef} className="filters" onSubmit={apply}>
        {props.fields.map((field) => (
          <div className="field" key={field.name}>
            <label htmlFor={`${id}-${field.name}`}>{field.label}</label>
            {field.options ? (
              <select
                id={`${id}-${field.name}`}
                name={field.name}
                defaultValue={props.values[field.name] ?? ""}
              >
                {field.options.map((option) => (
                  <option key={option.value} value={option.value}>
                    {option.label}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={`${id}-${field.name}`}
                name={field.name}
                type="search"
                placeholder={field.placeholder}
                defaultValue={props.values[field.name] ?? ""}
              />
            )}
          </div>
        ))}
        <div className="row">
          <button type="submit">Apply filters</button>
          {active ? (
            <button type="button" className="secondary" onClick={() => props.onChange({})}>
              Clear filters
            </button>
          ) : null}
        </div>
      </form>
    </search>
  );
}

/** The API's message for a failed request; a 403 here means the role was taken away meanwhile. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    return error.status === 403 ? "You are no longer an admin." : error.message;
  }
  return "Something went wrong; try again.";
}

/** A date as people read it; `—` for none. */
export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString() : "—";

/** "3 min" for seconds, as a queue's age reads best. */
export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}
