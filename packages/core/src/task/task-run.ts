import { desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import { useTransaction } from "../db/transaction";
import { errorSummary } from "../observability/redact";
import { taskRunTable } from "./task.sql";

/**
 * The last outcome of a task that failed or that a schedule sent (task.sql.ts `task_run`), for
 * the operator: a dead letter's last error, a schedule's last run. Written by the worker; a task
 * that just succeeds, with no schedule, is not written here.
 */

interface RunKey {
  id: string;
  task: string;
  schedule?: string;
  attempt: number;
}

/** A scheduled task's delivery started (after its claim): it shows as running. */
export async function recordStart(run: RunKey, at: Date): Promise<void> {
  await useTransaction((tx) =>
    tx
      .insert(taskRunTable)
      .values({ ...run, attempts: run.attempt, outcome: "running", startedAt: at })
      .onConflictDoUpdate({
        target: taskRunTable.id,
        set: { attempts: run.attempt, outcome: "running", startedAt: at, finishedAt: null },
      }),
  );
}

/** Only a row that exists (a scheduled task, or one that failed before) is updated. */
export async function recordSuccess(id: string, at: Date): Promise<void> {
  await useTransaction((tx) =>
    tx
      .update(taskRunTable)
      .set({ outcome: "succeeded", finishedAt: at })
      .where(eq(taskRunTable.id, id)),
  );
}

export async function recordFailure(run: RunKey, error: unknown, at: Date): Promise<void> {
  const lastError = errorSummary(error);
  await useTransaction((tx) =>
    tx
      .insert(taskRunTable)
      .values({
        ...run,
        attempts: run.attempt,
        outcome: "failed",
        startedAt: at,
        finishedAt: at,
        lastError,
        failedAt: at,
      })
      .onConflictDoUpdate({
        target: taskRunTable.id,
        set: {
          attempts: run.attempt,
          outcome: "failed",
          finishedAt: at,
          lastError,
          failedAt: at,
        },
      }),
  );
}

export type TaskRun = typeof taskRunTable.$inferSelect;

/** The recorded runs of these task ids (a dead letter's last error). */
export async function runsOf(ids: readonly string[]): Promise<Map<string, TaskRun>> {
  if (ids.length === 0) return new Map();
  const rows = await useTransaction((tx) =>
    tx
      .select()
      .from(taskRunTable)
      .where(inArray(taskRunTable.id, [...ids])),
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/** Each schedule's latest run (by start), from the index on (schedule, started_at). */
export async function lastScheduledRuns(
  schedules: readonly string[],
): Promise<Map<string, TaskRun>> {
  const found = new Map<string, TaskRun>();
  // One indexed look-up per schedule: an app has a handful.
  for (const schedule of schedules) {
    const [row] = await useTransaction((tx) =>
      tx
        .select()
        .from(taskRunTable)
        .where(eq(taskRunTable.schedule, schedule))
        .orderBy(desc(taskRunTable.startedAt))
        .limit(1),
    );
    if (row) found.set(schedule, row);
  }
  return found;
}

/** Deletes runs that finished (or started) before `cutoff`; the maintenance prune calls it. */
export async function pruneRuns(cutoff: Date): Promise<number> {
  const deleted = await useTransaction((tx) =>
    tx
      .delete(taskRunTable)
      .where(
        lt(
          sql`coalesce(${taskRunTable.finishedAt}, ${taskRunTable.startedAt})`,
          cutoff.toISOString(),
        ),
      )
      .returning({ id: taskRunTable.id }),
  );
  return deleted.length;
}

/** Clears recorded errors that quote any of `values` (a deleted user's id or address). */
export async function forgetErrors(values: readonly string[]): Promise<number> {
  if (values.length === 0) return 0;
  const deleted = await useTransaction((tx) =>
    tx
      .delete(taskRunTable)
      .where(or(...values.map((value) => sql`strpos(${taskRunTable.lastError}, ${value}) > 0`)))
      .returning({ id: taskRunTable.id }),
  );
  return deleted.length;
}
