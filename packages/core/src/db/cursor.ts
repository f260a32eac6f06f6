import { ValidationError } from "../error";

/**
 * Keyset page cursors: the sort key of a page's last row (a time and an id), opaque to clients
 * (base64url JSON), so a page never skips or repeats a row that moved up or down meanwhile.
 */
export interface Position {
  at: Date;
  id: string;
}

export function encodeCursor({ at, id }: Position): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

export function decodeCursor(cursor: string): Position {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (typeof at === "string" && typeof id === "string") {
      const time = new Date(at);
      if (!Number.isNaN(time.getTime())) return { at: time, id };
    }
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
