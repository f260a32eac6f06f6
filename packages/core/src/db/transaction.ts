import { AsyncLocalStorage } from "node:async_hooks";
import { log } from "../log";
import { database, type Executor, type Transaction } from "./client";

/**
 * The open transaction travels in AsyncLocalStorage, so domain functions join whatever
 * transaction their caller opened (a route, a task, a test) without passing it along.
 */

type Effect = () => unknown;
interface Context {
  tx: Transaction;
  effects: Effect[];
}

const storage = new AsyncLocalStorage<Context>();

/** Runs `fn` in the caller's transaction when there is one, else directly on the database. */
export async function useTransaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
  const current = storage.getStore();
  if (current) return fn(current.tx);
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
      storage.run({ tx: savepoint, effects }, () => fn(savepoint)),
    );
    current.effects.push(...effects);
    return result;
  }
  const { db, guard } = await database();
  const effects: Effect[] = [];
  const result = await guard((signal) =>
    db.transaction(async (tx) => {
      const value = await storage.run({ tx, effects }, () => fn(tx));
      // Answered as unavailable meanwhile: roll back rather than commit behind the caller's back.
      signal.throwIfAborted();
      return value;
    }),
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
      await storage.run({ tx, effects }, () => fn(tx));
      throw rolledBack;
    });
  } catch (error) {
    if (error !== rolledBack) throw error;
  }
  return { effects };
}
