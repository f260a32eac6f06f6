import { AsyncLocalStorage } from "node:async_hooks";
import { type Column, Param, type SQL, sql } from "drizzle-orm";
import { log } from "../log";
import { type Database, database, type Executor, readerDatabase, type Transaction } from "./client";
import { routeToReader } from "./reader";

/**
 * The open transaction travels in AsyncLocalStorage, so domain functions join whatever
 * transaction their caller opened (a route, a task, a test) without passing it along.
 */

type Effect = () => unknown;
interface Context {
  tx: Transaction;
  effects: Effect[];
  /** The database the transaction was opened on: prepared queries are built once per database. */
  db: Database;
}

const storage = new AsyncLocalStorage<Context>();

/**
 * Runs `fn` on the reader: a read site the replica may serve, outside a transaction, in a request
 * that has not written (db/reader.ts `routeToReader`). On PGlite's read-only mirror, which is the
 * primary's one connection, in a read-only transaction, current for `fn`'s calls.
 */
async function onReader<T>(fn: (db: Executor) => Promise<T>): Promise<T> {
  const { handle, readOnlyTransactions } = await readerDatabase();
  if (readOnlyTransactions)
    return handle.db.transaction(
      (tx) => storage.run({ tx, effects: [], db: handle.db }, () => fn(tx)),
      { accessMode: "read only" },
    );
  return handle.guard(() => fn(handle.db));
}

/** Runs `fn` in the caller's transaction when there is one, else directly on the database. */
export async function useTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
  const current = storage.getStore();
  if (current) return fn(current.tx);
  if (routeToReader()) return onReader(fn);
  const { db, guard } = await database();
  return guard(() => fn(db));
}

/**
 * Whether a transaction is open in this async context (the caller's, a test's, or a savepoint).
 * The task worker checks it around calls that leave the process, which must never hold one.
 */
export function inTransaction(): boolean {
  return storage.getStore() !== undefined;
}

/**
 * Opens a transaction. Inside another one it opens a savepoint instead: a failure rolls back only
 * the nested block (and drops its after-commit effects) while the outer transaction goes on, and
 * its effects wait for the outermost commit.
 */
export async function createTransaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const current = storage.getStore();
  if (current) {
    const effects: Effect[] = [];
    const result = await current.tx.transaction((savepoint) =>
      storage.run({ tx: savepoint, effects, db: current.db }, () => fn(savepoint)),
    );
    current.effects.push(...effects);
    return result;
  }
  // A read site's transaction runs on the reader, read-only there (a replica is).
  const reader = routeToReader() ? await readerDatabase() : undefined;
  const { db, guard } = reader?.handle ?? (await database());
  const effects: Effect[] = [];
  const result = await guard((signal) =>
    db.transaction(
      async (tx) => {
        const value = await storage.run({ tx, effects, db }, () => fn(tx));
        // Answered as unavailable meanwhile: roll back rather than commit behind the caller's back.
        signal.throwIfAborted();
        return value;
      },
      reader?.readOnlyTransactions ? { accessMode: "read only" } : undefined,
    ),
  );
  await runEffects(effects);
  return result;
}

/**
 * Schedules `effect` after the current transaction commits; it never runs for a rollback.
 * Outside a transaction the write already happened, so it runs now.
 */
export async function afterCommit(effect: Effect): Promise<void> {
  const current = storage.getStore();
  if (current) {
    current.effects.push(effect);
    return;
  }
  await runEffects([effect]);
}

// The data is committed by now: a failing effect is logged, not thrown, so the caller does not
// report a failed write that succeeded. Durable work (tasks) must not rely on effects alone.
async function runEffects(effects: Effect[]) {
  for (const effect of effects) {
    try {
      await effect();
    } catch (error) {
      log.error("after-commit effect failed", { error });
    }
  }
}

const rolledBack = Symbol("rollback");

/**
 * Runs `fn` in a transaction that is always rolled back, and returns the effects that a commit
 * would have run. Tests use it so each one leaves the database as it found it.
 */
export async function rollback(
  fn: (tx: Transaction) => Promise<void>,
): Promise<{ effects: readonly Effect[] }> {
  const { db } = await database();
  const effects: Effect[] = [];
  try {
    await db.transaction(async (tx) => {
      await storage.run({ tx, effects, db }, () => fn(tx));
      throw rolledBack;
    });
  } catch (error) {
    if (error !== rolledBack) throw error;
  }
  return { effects };
}

/** What drizzle's `.prepare(name)` returns, as far as `prepared` needs it. */
interface PreparedQuery<Result> {
  execute(values?: Record<string, unknown>): Promise<Result>;
}

/**
 * A hot query whose SQL is built once per database instead of on every call (drizzle builds a
 * query's SQL each time it runs: 0.1-0.2 ms of CPU for a join, against a few µs to fill in the
 * values of a built one). `build` makes it from the database with `sql.placeholder` (or
 * `placeholder` below) where values go, ending in `.prepare(name)`; the returned function runs it
 * like `useTransaction` runs a query: in the caller's transaction when one is open, else on the
 * database. On postgres.js a prepared query is also a named server-side statement, parsed and
 * planned once per connection. ADR 021.
 */
export function prepared<Result>(
  build: (db: Database) => PreparedQuery<Result>,
): (values?: Record<string, unknown>) => Promise<Result> {
  const built = new WeakMap<Database, PreparedQuery<Result>>();
  const forDatabase = (db: Database) => {
    let query = built.get(db);
    if (!query) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
  return async (values) => {
    const current = storage.getStore();
    if (current) return boundTo(forDatabase(current.db), current.tx).execute(values);
    if (routeToReader())
      return onReader((executor) => {
        // On PGlite's mirror, inside the read-only transaction onReader opened.
        const opened = storage.getStore();
        return opened
          ? boundTo(forDatabase(opened.db), opened.tx).execute(values)
          : forDatabase(executor as Database).execute(values);
      });
    const { db, guard } = await database();
    const query = forDatabase(db);
    return guard(() => query.execute(values));
  };
}

/**
 * The prepared query, run on the transaction's connection instead of the pool's. drizzle binds a
 * prepared query to the session it was built on, and building it again per transaction would cost
 * what preparing saves; both drivers' prepared queries (postgres.js, PGlite) keep that connection
 * in `client`, as their sessions do, so a copy with the transaction's is the same query there.
 * Run on the database instead it would escape the transaction (and on PGlite, whose one
 * connection the transaction holds, wait for ever): a drizzle without these fields is refused.
 */
function boundTo<Result>(query: PreparedQuery<Result>, tx: Transaction): PreparedQuery<Result> {
  const client = (tx as unknown as { session?: { client?: unknown } }).session?.client;
  if (client === undefined || !("client" in query)) {
    throw new Error(
      "prepared: this drizzle-orm keeps no `client` on its sessions (db/transaction.ts)",
    );
  }
  return Object.assign(Object.create(Object.getPrototypeOf(query)) as object, query, { client });
}

/**
 * A placeholder that takes `column`'s type, as a value compared with the column would: a `Date`
 * for a timestamp column. (A bare `sql.placeholder` in a condition passes its value to the driver
 * as given, and postgres.js under drizzle takes no `Date` there.)
 */
export function placeholder(name: string, column: Column): SQL {
  return sql`${new Param(sql.placeholder(name), column)}`;
}
