import { type Column, type SQL, sql } from "drizzle-orm";
import { ValidationError } from "../error";

/**
 * Keyset page cursors: the sort key of a page's last row (a time and an id), opaque to clients
 * (base64url JSON), so a page never skips or repeats a row that moved up or down meanwhile. The
 * time travels as Postgres wrote it, to the microsecond: a JS Date would cut it to the
 * millisecond, and rows written in one transaction (one `now()`) would fall out of the page.
 */
export interface Position {
  /** ISO 8601 in UTC with microseconds, as `cursorTime` selects it. */
  at: string;
  id: string;
}

const AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/** The column as a cursor's time: select it beside a page's rows. */
export const cursorTime = (column: Column) =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Rows after `position` in `(time, id)` order: descending (newest first) or ascending. */
export function beyond(time: Column, id: Column, position: Position, order: "asc" | "desc"): SQL {
  const at = sql`${position.at}::timestamptz`;
  return order === "desc"
    ? sql`(${time} < ${at} or (${time} = ${at} and ${id} < ${position.id}))`
    : sql`(${time} > ${at} or (${time} = ${at} and ${id} > ${position.id}))`;
}

export function encodeCursor({ at, id }: Position): string {
  return Buffer.from(JSON.stringify([at, id])).toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (typeof at === "string" && AT.test(at) && typeof id === "string") return { at, id };
  } catch {
    // falls through to the error below
  }
  throw invalidCursor();
}

export const invalidCursor = (reason = "not a cursor this API returned") =>
  new ValidationError(
    [{ path: "cursor", message: reason }],
    "Invalid cursor: pass back a nextCursor this API returned",
  );

/** A page from `limit + 1` rows: the extra row says there is a next page. */
export function pageOf<Row>(
  rows: Row[],
  limit: number,
  position: (row: Row) => Position,
): { rows: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    rows: page,
    nextCursor: rows.length > limit && last ? encodeCursor(position(last)) : null,
  };
}
