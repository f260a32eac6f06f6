import { type FieldIssue, ValidationError } from "../error";
import { textProblem } from "../http/text";

/**
 * The rows query of the table browser, read from the raw query pairs (repeats kept), so that
 * anything it does not understand is a 400 naming it rather than ignored:
 *   cursor=<nextCursor>  limit=1..100 (50)
 *   filter[<column>]=<value>   equality (the value as text, cast to the column's type)
 *   prefix[<column>]=<text>    the column starts with the text (text columns)
 * A separate `prefix[…]` rather than a wildcard in `filter[…]`, so every value, `*` and `%`
 * included, can be searched for exactly. Whether the column exists and takes a filter is the
 * table's to say (tables.ts).
 */

export interface Filter {
  op: "filter" | "prefix";
  column: string;
  value: string;
}

export interface RowsQuery {
  cursor?: string;
  limit: number;
  filters: Filter[];
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;
const FILTER = /^(filter|prefix)\[([^[\]]+)\]$/;

export function parseRowsQuery(pairs: readonly (readonly [string, string])[]): RowsQuery {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  const query: RowsQuery = { limit: DEFAULT_LIMIT, filters: [] };
  for (const [name, value] of pairs) {
    const problem = textProblem(name) ?? textProblem(value);
    if (problem) {
      issues.push({ path: textProblem(name) ? "" : name, message: problem });
      continue;
    }
    if (seen.has(name)) {
      issues.push({ path: name, message: "is given more than once" });
      continue;
    }
    seen.add(name);
    if (name === "cursor") {
      query.cursor = value;
    } else if (name === "limit") {
      const limit = /^[0-9]{1,3}$/.test(value) ? Number(value) : Number.NaN;
      if (limit >= 1 && limit <= MAX_LIMIT) query.limit = limit;
      else issues.push({ path: "limit", message: `must be a whole number from 1 to ${MAX_LIMIT}` });
    } else {
      const match = FILTER.exec(name);
      if (match)
        query.filters.push({ op: match[1] as Filter["op"], column: match[2] as string, value });
      else {
        issues.push({
          path: name,
          message: "is not a parameter of this query",
          allowed: ["cursor", "limit", "filter[<column>]", "prefix[<column>]"],
        });
      }
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, "Invalid request query");
  return query;
}
