import { PgPreparedQuery } from "drizzle-orm/pg-core";
import { recording, recordSpan, traceClock } from "../observability/trace";

/**
 * One span per SQL statement, with its text (drizzle's, with `$1` placeholders: never a value)
 * and its duration, when the current trace is recorded (ADR 029). Both drivers' prepared queries
 * (postgres.js, PGlite; prepared or not, raw `db.execute` too) run the driver through
 * `PgPreparedQuery#queryWithCache(queryString, params, query)`, so wrapping that one method
 * times exactly the round trip. It is drizzle-orm's internal: `query-spans.test.ts` fails if a
 * drizzle upgrade stops calling it. Unrecorded, the cost is one AsyncLocalStorage read.
 */

type QueryWithCache = (
  queryString: string,
  params: unknown[],
  query: () => Promise<unknown>,
) => Promise<unknown>;

const prototype = PgPreparedQuery.prototype as unknown as { queryWithCache?: QueryWithCache };
const WRAPPED = Symbol.for("slipway.querySpans");

export function instrumentQueries() {
  const holder = prototype as unknown as Record<symbol, boolean>;
  const original = prototype.queryWithCache;
  if (holder[WRAPPED] || typeof original !== "function") return;
  holder[WRAPPED] = true;
  prototype.queryWithCache = async function (this: unknown, queryString, params, query) {
    const trace = recording();
    if (!trace) return original.call(this, queryString, params, query);
    const start = traceClock();
    let ok = false;
    try {
      const result = await original.call(this, queryString, params, query);
      ok = true;
      return result;
    } finally {
      recordSpan(trace, "db.sql.query", queryString, start, ok);
    }
  };
}

/** Whether drizzle still has the method this wraps (the test checks it). */
export function queriesInstrumented(): boolean {
  return (prototype as unknown as Record<symbol, boolean>)[WRAPPED] === true;
}
