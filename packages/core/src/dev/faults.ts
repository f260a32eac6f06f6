import type { TaskHandler } from "../task/task";

/**
 * Tasks made to fail on purpose, offline only: the way to see a failure go through the real
 * queue (retries, the dead letters, the last error, a redrive) without breaking any code. The
 * switch lives in this process, which offline is also the worker (task/local-runtime.ts); the
 * dev routes (faults.routes.ts) set and clear it. The web e2e makes a task fail with it.
 */
const faults = new Map<string, string>();

/** The error every delivery of a faulted task throws: its message is the one the switch set. */
export class DevFault extends Error {
  override name = "DevFault";
}

export const DevFaults = {
  /** Every delivery of `task` throws `message` from now on, until `clear`. */
  set(task: string, message: string) {
    faults.set(task, message);
  },
  /** Whether `task` was faulted. */
  clear: (task: string): boolean => faults.delete(task),
  list: () => [...faults].map(([task, message]) => ({ task, message })),
};

/**
 * The handlers, each first failing while its task is faulted. Only the offline composition root
 * (server.ts) wraps its tasks with this; nothing deployed can reach the switch.
 */
export function withDevFaults(tasks: readonly TaskHandler[]): TaskHandler[] {
  return tasks.map((task) => ({
    ...task,
    handler: async (payload, context) => {
      const fault = faults.get(task.name);
      if (fault !== undefined) throw new DevFault(fault);
      await task.handler(payload, context);
    },
  }));
}
