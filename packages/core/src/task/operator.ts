import { NotFoundError, ValidationError } from "../error";
import { createID } from "../id";
import { currentTrace, formatTraceparent } from "../observability/trace";
import type { QueueAdmin } from "./queue-admin";
import type { Schedule } from "./schedule";
import { nextFireTimes } from "./schedule-expression";
import type { Envelope, TaskHandler } from "./task";

/**
 * What an operator does with tasks (`npm run tasks`, and the offline dev routes): see the tasks,
 * schedules and queue depths, read and redrive dead letters, run a task now. The composition
 * root gives it the app's tasks and schedules and the queue to work on (queue-admin.ts: the
 * offline queue, or a stage's SQS queues under `sst shell`).
 */
export interface OperatorOptions {
  tasks: readonly TaskHandler[];
  schedules: readonly Schedule[];
  /** Resolved at each call, so creating an operator reads no configuration. */
  queue: () => QueueAdmin;
}

export type Operator = ReturnType<typeof createOperator>;

export function createOperator({ tasks, schedules, queue }: OperatorOptions) {
  return {
    async overview() {
      const now = new Date();
      const admin = queue();
      return {
        queue: admin.kind,
        tasks: tasks.map((task) => task.name),
        schedules: schedules.map((s) => ({
          name: s.name,
          expression: s.expression,
          timezone: s.timezone,
          task: s.task,
          next: nextFireTimes(s.expression, s.timezone, now, 1, now)[0]?.toISOString() ?? null,
        })),
        ...(await admin.depth()),
      };
    },

    deadLetters: (limit = 50) => queue().deadLetters(limit),

    redrive: () => queue().redrive(),

    /** Queues a task now, outside any business transaction (an operator action). */
    async run(taskName: string, payload: unknown): Promise<{ id: string }> {
      const task = tasks.find((t) => t.name === taskName);
      if (!task) {
        throw new NotFoundError(`No task "${taskName}"`, { tasks: tasks.map((t) => t.name) });
      }
      const parsed = task.payload.safeParse(payload);
      if (!parsed.success) {
        throw ValidationError.fromIssues(parsed.error.issues, `Invalid payload for ${taskName}`);
      }
      const id = createID("task");
      // Run from a request (the dev route): the task continues its trace, as the outbox's do.
      const trace = currentTrace();
      const envelope: Envelope = { task: task.name, payload: parsed.data, id };
      if (trace) envelope.traceparent = formatTraceparent(trace);
      await queue().send(JSON.stringify(envelope));
      return { id };
    },
  };
}
