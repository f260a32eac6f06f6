import { config } from "../config";
import { schedules } from "../schedules";
import { tasks } from "../tasks";
import { startLocalTaskRuntime } from "./local-runtime";
import { localQueue } from "./runtime";
import { startOutboxSweep } from "./task";
import { createWorker } from "./worker";

/**
 * Starts the task machinery a server process runs: offline the poller + scheduler + sweep;
 * deployed, only the outbox sweep (SQS, the worker Lambda and EventBridge do the rest).
 * Returns the function that stops it.
 */
export async function startTasks(): Promise<() => Promise<void>> {
  if (config().tasks.kind === "local") {
    const runtime = startLocalTaskRuntime({
      worker: createWorker(tasks),
      queue: localQueue(),
      schedules,
    });
    return runtime.stop;
  }
  const stopSweep = startOutboxSweep();
  return async () => stopSweep();
}
