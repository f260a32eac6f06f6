import { isConnectionError } from "../db/availability";
import { log } from "../log";
import type { LocalQueue } from "./local-queue";
import { scheduleMessage } from "./queue-policy";
import type { Schedule } from "./schedule";
import { nextFireTimes } from "./schedule-expression";
import { startOutboxSweep } from "./task";
import type { Worker } from "./worker";

/**
 * What AWS runs around the worker, run inside the API process offline: a poller that feeds the
 * local queue to the same worker handler in SQS event shape (deleting only what succeeded), and
 * a scheduler that sends each schedule's message at the instants EventBridge Scheduler would.
 */
export interface LocalRuntimeOptions {
  worker: Worker;
  queue: LocalQueue;
  schedules: readonly Schedule[];
  pollIntervalMs?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function startLocalTaskRuntime(options: LocalRuntimeOptions) {
  const { worker, queue } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function pollOnce(): Promise<number> {
    const batch = await queue.receive(10);
    if (batch.length === 0) return 0;
    const { batchItemFailures } = await worker(queue.toEvent(batch));
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    // Failed messages stay hidden until their visibility timeout ends, then come back (SQS).
    await queue.delete(batch.filter((m) => !failed.has(m.messageId)).map((m) => m.receiptHandle));
    return batch.length;
  }

  const polling = (async () => {
    while (!stopped) {
      try {
        if ((await pollOnce()) === 0) await sleep(pollIntervalMs);
      } catch (error) {
        // An outage is logged once, where it is detected (db/availability.ts).
        if (!isConnectionError(error)) log.error("local task poller failed; retrying", { error });
        await sleep(pollIntervalMs);
      }
    }
  })();

  const startedAt = new Date();
  function arm(schedule: Schedule) {
    const [next] = nextFireTimes(schedule.expression, schedule.timezone, new Date(), 1, startedAt);
    if (!next || stopped) return;
    const delay = next.getTime() - Date.now();
    const timer = setTimeout(
      async () => {
        timers.delete(timer);
        if (delay > MAX_TIMER_MS) return arm(schedule); // not due yet: timers cap at ~24.8 days
        try {
          await queue.sendRaw(scheduleMessage(schedule));
          log.info("schedule fired", { schedule: schedule.name, task: schedule.task });
        } catch (error) {
          log.error("schedule failed to send", { schedule: schedule.name, error });
        }
        arm(schedule);
      },
      Math.min(Math.max(0, delay), MAX_TIMER_MS),
    );
    timers.add(timer);
  }
  for (const schedule of options.schedules) arm(schedule);

  const stopSweep = startOutboxSweep();

  return {
    /** Processes what is visible now; tests use it instead of waiting for the poller. */
    pollOnce,
    async stop() {
      stopped = true;
      stopSweep();
      for (const timer of timers) clearTimeout(timer);
      wake?.();
      await polling;
    },
  };
}
