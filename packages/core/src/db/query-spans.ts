import { PgPreparedQuery } from "drizzle-orm/pg-core";
import { recording, recordSpan, type Trace, traceClock } from "../observability/trace";

/**
 * One span per SQL statement, with its text (drizzle's, with `$1` placeholders: never a value)
 * and its duration, when the current trace is recorded (ADR 029). Both drivers' prepared queries
 * (postgres.js, PGlite; prepared or not, raw `db.execute` too) run the driver through
 * `PgPreparedQuery#queryWithCache(queryString, params, query)`, so wrapping that one method
 * times exactly the round trip. It is drizzle-orm's internal: `query-spans.test.ts` fails if a
 * drizzle upgrade stops calling it. Unrecorded, the cost is one AsyncLocalStorage read.
 */

const SLOT = Symbol.for("slipway.querySpans");

type QueryWithCache = (
  queryString: string,
  params: unknown[],
  query: () => Promise<unknown>,
) => Promise<unknown>;

const prototype = PgPreparedQuery.prototype as unknown as {
  queryWithCache?: QueryWithCache;
  [SLOT]?: () => Trace | undefined;
};

/**
 * Wraps drizzle's method once per process; the wrapper reads the current trace through the slot
 * the latest call filled (a test that reloads the app's modules gets its own log context read).
 */
export function instrumentQueries() {
  const original = prototype.queryWithCache;
  if (typeof original !== "function") return;
  const wrappedAlready = prototype[SLOT] !== undefined;
  prototype[SLOT] = recording;
  if (wrappedAlready) return;
  prototype.queryWithCache = async function (this: unknown, queryString, params, query) {
    const trace = prototype[SLOT]?.();
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
