import { NotFoundError, ValidationError } from "../error";
import { createID } from "../id";
import { scrubPayload } from "../observability/redact";
import type { DeadLetter, QueueAdmin } from "./queue-admin";
import { scheduleMessage } from "./queue-policy";
import type { Schedule } from "./schedule";
import { nextFireTimes } from "./schedule-expression";
import { Envelope, type TaskHandler } from "./task";
import { lastScheduledRuns, runsOf, type TaskRun } from "./task-run";

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

/** A dead letter as an operator reads it: its envelope opened, the payload scrubbed. */
export interface DeadLetterView {
  id: string;
  taskId: string | null;
  task: string | null;
  schedule: string | null;
  /** Scrubbed (observability/redact.ts); null when the body is not an envelope. */
  payload: unknown;
  receiveCount: number;
  sentAt: string;
  lastError: { message: string; at: string; attempts: number } | null;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

function openEnvelope(body: string): Envelope | undefined {
  try {
    const parsed = Envelope.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function createOperator({ tasks, schedules, queue }: OperatorOptions) {
  const sensitiveOf = (task: string) => tasks.find((t) => t.name === task)?.sensitive ?? [];

  async function view(letters: DeadLetter[]): Promise<DeadLetterView[]> {
    const opened = letters.map((letter) => ({ letter, envelope: openEnvelope(letter.body) }));
    // The worker keys a task on its envelope id, or on the message id when it has none (schedules).
    const taskID = (o: (typeof opened)[number]) =>
      o.envelope ? (o.envelope.id ?? o.letter.id) : o.letter.id;
    const runs = await runsOf(opened.map(taskID));
    return opened.map((o) => {
      const run = runs.get(taskID(o));
      return {
        id: o.letter.id,
        taskId: o.envelope ? taskID(o) : null,
        task: o.envelope?.task ?? null,
        schedule: o.envelope?.schedule ?? null,
        payload: o.envelope
          ? (scrubPayload(o.envelope.payload, sensitiveOf(o.envelope.task)) ?? null)
          : null,
        receiveCount: o.letter.receiveCount,
        sentAt: o.letter.sentAt,
        lastError:
          run?.lastError && run.failedAt
            ? { message: run.lastError, at: run.failedAt.toISOString(), attempts: run.attempts }
            : null,
      };
    });
  }

  const lastRunOf = (run: TaskRun | undefined) =>
    run
      ? {
          taskId: run.id,
          startedAt: run.startedAt.toISOString(),
          finishedAt: iso(run.finishedAt),
          outcome: run.outcome,
          error: run.outcome === "failed" ? run.lastError : null,
          attempts: run.attempts,
        }
      : null;

  const scheduleNamed = (name: string) => {
    const schedule = schedules.find((s) => s.name === name);
    if (!schedule) {
      throw new NotFoundError(`No schedule "${name}"`, {
        schedules: schedules.map((s) => s.name),
      });
    }
    return schedule;
  };

  return {
    /** Queue counts and ages, for the console. */
    async stats() {
      const admin = queue();
      return { queue: admin.kind, tasks: tasks.map((task) => task.name), ...(await admin.stats()) };
    },

    async deadLetterPage(limit: number, cursor?: string) {
      const page = await queue().deadLetterPage(limit, cursor);
      return { deadLetters: await view(page.deadLetters), nextCursor: page.nextCursor };
    },

    /** One dead letter back to the queue; NotFoundError when it is not (or no longer) there. */
    async redriveOne(id: string): Promise<{ id: string }> {
      if (!(await queue().redriveOne(id))) throw new NotFoundError(`No dead letter "${id}"`);
      return { id };
    },

    async discard(id: string): Promise<{ id: string }> {
      if (!(await queue().discard(id))) throw new NotFoundError(`No dead letter "${id}"`);
      return { id };
    },

    /**
     * Each schedule with its next three fire times and its last run. A rate schedule is shown
     * from now: EventBridge counts it from its creation, which the app does not know.
     */
    async schedules(now = new Date()) {
      const runs = await lastScheduledRuns(schedules.map((s) => s.name));
      return schedules.map((s) => ({
        name: s.name,
        description: s.description ?? null,
        expression: s.expression,
        timezone: s.timezone,
        task: s.task,
        next: nextFireTimes(s.expression, s.timezone, now, 3, now).map((d) => d.toISOString()),
        lastRun: lastRunOf(runs.get(s.name)),
      }));
    },

    /** Sends the schedule's own message now, as EventBridge would: it runs as that schedule. */
    async runSchedule(name: string): Promise<{ id: string }> {
      return { id: await queue().send(scheduleMessage(scheduleNamed(name))) };
    },

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
      await queue().send(
        JSON.stringify({ task: task.name, payload: parsed.data, id } satisfies Envelope),
      );
      return { id };
    },
  };
}
