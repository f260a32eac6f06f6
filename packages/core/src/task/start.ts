import { config } from "../config";
import { startLocalTaskRuntime } from "./local-runtime";
import { localQueue } from "./runtime";
import type { Schedule } from "./schedule";
import { startOutboxSweep, type TaskHandler } from "./task";
import { createWorker } from "./worker";

/**
 * Starts the task machinery a server process runs: offline the poller + scheduler + sweep over
 * the app's tasks and schedules; deployed, only the outbox sweep (SQS, the worker Lambda and
 * EventBridge do the rest). Returns the function that stops it.
 */
export async function startTasks(app: {
  tasks: readonly TaskHandler[];
  schedules: readonly Schedule[];
}): Promise<() => Promise<void>> {
  if (config().tasks.kind === "local") {
    const runtime = startLocalTaskRuntime({
      worker: createWorker(app.tasks),
      queue: localQueue(),
      schedules: app.schedules,
    });
    return runtime.stop;
  }
  const stopSweep = startOutboxSweep();
  return async () => stopSweep();
}
