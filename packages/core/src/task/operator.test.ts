import { describe, expect, it } from "vitest";
import * as z from "zod";
import { captureLogs } from "../../test/logs";
import { rollback } from "../db/transaction";
import { HIDDEN } from "../observability/redact";
import { createLocalQueue } from "./local-queue";
import { createOperator } from "./operator";
import { localQueueAdmin } from "./queue-admin";
import { scheduleMessage } from "./queue-policy";
import { defineSchedule } from "./schedule";
import { defineTask, handleTask } from "./task";
import { createWorker } from "./worker";

/**
 * The operator over the offline queue, for real (PGlite or Postgres, in `rollback()`): a task
 * fails until it is a dead letter, and the operator sees it with its last error, redrives or
 * discards it; schedules show their next runs and their last outcome.
 */

let failures = 0;
const flaky = handleTask(
  defineTask("probe.flaky", z.object({ to: z.string(), token: z.string(), body: z.string() }), {
    sensitive: ["body"],
  }),
  async () => {
    if (failures-- > 0) throw new Error("the provider is down");
  },
);
const tick = handleTask(defineTask("probe.tick", z.object({})), async () => {
  if (failures-- > 0) throw new Error("tick failed");
});
const everyDay = defineSchedule({
  name: "probe-daily",
  expression: "cron(30 6 * * ? *)",
  timezone: "Europe/Paris",
  task: "probe.tick",
  payload: {},
  description: "A probe",
});

function setup() {
  let now = new Date("2026-11-22T08:00:00Z");
  const clock = () => now;
  const queue = createLocalQueue({
    queue: "op",
    deadLetterQueue: "op-dlq",
    maxReceiveCount: 2,
    visibilityTimeoutSeconds: 30,
    clock,
  });
  const worker = createWorker([flaky, tick], { clock, claimSeconds: 30 });
  const admin = localQueueAdmin(queue);
  const operator = createOperator({
    tasks: [flaky, tick],
    schedules: [everyDay],
    queue: () => admin,
  });
  const advance = (seconds: number) => {
    now = new Date(now.getTime() + seconds * 1000);
  };
  /** Receives what is visible, runs it, deletes what succeeded (the local poller's round). */
  const round = async () => {
    const batch = await queue.receive(10);
    const { batchItemFailures } = await worker(queue.toEvent(batch));
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    await queue.delete(batch.filter((m) => !failed.has(m.messageId)).map((m) => m.receiptHandle));
    advance(31);
  };
  return { queue, admin, operator, advance, round, clock };
}

const flakyEnvelope = (id: string) =>
  JSON.stringify({
    task: "probe.flaky",
    id,
    payload: { to: "ada@example.com", token: "s3cret-token", body: "your link: https://x/?t=abc" },
  });

describe("operator over the local queue", () => {
  it("counts visible, in-flight and delayed messages and the oldest one's age", async () =>
    rollback(async () => {
      const { queue, operator, advance } = setup();
      await queue.sendRaw(JSON.stringify({ task: "probe.tick", payload: {} }));
      advance(10);
      await queue.sendRaw(JSON.stringify({ task: "probe.tick", payload: {} }));
      await queue.sendRaw(JSON.stringify({ task: "probe.tick", payload: {} }), 60);
      await queue.receive(1); // the oldest, now in flight
      advance(5);
      expect(await operator.stats()).toEqual({
        queue: "local",
        tasks: ["probe.flaky", "probe.tick"],
        messages: { visible: 1, inFlight: 1, delayed: 1 },
        oldestAgeSeconds: 15,
        deadLetters: { count: 0, oldestAgeSeconds: null },
      });
    }));

  it("shows a dead letter with its scrubbed payload and last error; redrives it, and it runs", async () =>
    rollback(async () => {
      captureLogs();
      const { queue, operator, round, clock } = setup();
      failures = 2;
      const [messageID] = [await queue.sendRaw(flakyEnvelope("tsk_flaky1"))];
      await round(); // attempt 1 fails
      await round(); // attempt 2 fails
      await round(); // the receive after maxReceiveCount moves it to the dead letters
      const stats = await operator.stats();
      // Moved at the third receive (08:01:02); SQS's metric counts a dead letter's age from then.
      expect(stats.deadLetters).toEqual({ count: 1, oldestAgeSeconds: 31 });

      const page = await operator.deadLetterPage(10);
      expect(page).toEqual({
        deadLetters: [
          {
            id: messageID,
            taskId: "tsk_flaky1",
            task: "probe.flaky",
            schedule: null,
            // The token (by its key) and the body (the task's sensitive field) never show.
            payload: { to: "ada@example.com", token: HIDDEN, body: HIDDEN },
            receiveCount: 2,
            sentAt: "2026-11-22T08:00:00.000Z",
            lastError: {
              message: "Error: the provider is down",
              at: "2026-11-22T08:00:31.000Z",
              attempts: 2,
            },
          },
        ],
        nextCursor: null,
      });
      expect(JSON.stringify(page)).not.toContain("s3cret-token");
      expect(JSON.stringify(page)).not.toContain("t=abc");

      expect(await operator.redriveOne(messageID)).toEqual({ id: messageID });
      expect((await operator.stats()).deadLetters.count).toBe(0);
      // Gone from the dead letters: a second redrive is a 404.
      await expect(operator.redriveOne(messageID)).rejects.toMatchObject({ code: "not_found" });
      failures = 0;
      await round();
      expect(await operator.stats()).toMatchObject({
        messages: { visible: 0, inFlight: 0, delayed: 0 },
      });
      expect(clock()).toBeInstanceOf(Date);
    }));

  it("pages dead letters oldest first by cursor, discards one, and refuses a forged cursor", async () =>
    rollback(async () => {
      captureLogs();
      const { queue, operator, round, advance } = setup();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push(await queue.sendRaw(JSON.stringify({ task: "nope.unknown", payload: {} })));
        advance(1);
      }
      await round();
      await round();
      await round();
      const first = await operator.deadLetterPage(2);
      expect(first.deadLetters.map((d) => d.id)).toEqual(ids.slice(0, 2));
      expect(first.deadLetters[0]?.lastError?.message).toBe('Error: unknown task "nope.unknown"');
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await operator.deadLetterPage(2, first.nextCursor ?? "");
      expect(second).toMatchObject({ deadLetters: [{ id: ids[2] }], nextCursor: null });

      expect(await operator.discard(ids[1] ?? "")).toEqual({ id: ids[1] });
      await expect(operator.discard(ids[1] ?? "")).rejects.toMatchObject({ code: "not_found" });
      expect((await operator.deadLetterPage(10)).deadLetters.map((d) => d.id)).toEqual([
        ids[0],
        ids[2],
      ]);
      // A message on the task queue (not a dead letter) is neither redriven nor discarded.
      const live = await queue.sendRaw(JSON.stringify({ task: "probe.tick", payload: {} }));
      await expect(operator.discard(live)).rejects.toMatchObject({ code: "not_found" });

      await expect(operator.deadLetterPage(2, "not-a-cursor")).rejects.toMatchObject({
        code: "validation_failed",
      });
      expect(await operator.redrive()).toBe(2);
    }));

  it("a dead letter that is not JSON shows no payload", async () =>
    rollback(async () => {
      captureLogs();
      const { queue, operator, round } = setup();
      const id = await queue.sendRaw("token=abc not json");
      await round();
      await round();
      await round();
      const { deadLetters } = await operator.deadLetterPage(10);
      expect(deadLetters).toMatchObject([{ id, task: null, taskId: null, payload: null }]);
      expect(JSON.stringify(deadLetters)).not.toContain("token=abc");
    }));
});

describe("operator schedules", () => {
  it("gives the next three runs in the schedule's time zone, and the last run's outcome", async () =>
    rollback(async () => {
      captureLogs();
      const { operator, round } = setup();
      const now = new Date("2026-11-22T08:00:00Z");
      const [before] = await operator.schedules(now);
      expect(before).toEqual({
        name: "probe-daily",
        description: "A probe",
        expression: "cron(30 6 * * ? *)",
        timezone: "Europe/Paris",
        task: "probe.tick",
        // 06:30 in Paris is 05:30 UTC in winter.
        next: ["2026-11-23T05:30:00.000Z", "2026-11-24T05:30:00.000Z", "2026-11-25T05:30:00.000Z"],
        lastRun: null,
      });

      // "Run now" sends the schedule's own message; a failing run shows failed with its error.
      failures = 1;
      const { id } = await operator.runSchedule("probe-daily");
      await round();
      expect((await operator.schedules(now))[0]?.lastRun).toEqual({
        taskId: id,
        startedAt: "2026-11-22T08:00:00.000Z",
        finishedAt: "2026-11-22T08:00:00.000Z",
        outcome: "failed",
        error: "Error: tick failed",
        attempts: 1,
      });
      // Its retry succeeds: the same run, now succeeded.
      await round();
      expect((await operator.schedules(now))[0]?.lastRun).toMatchObject({
        taskId: id,
        outcome: "succeeded",
        error: null,
        attempts: 2,
        finishedAt: "2026-11-22T08:00:31.000Z",
      });
      await expect(operator.runSchedule("nope")).rejects.toMatchObject({ code: "not_found" });
    }));

  it("the scheduler's message and run-now's are the same message", () => {
    expect(JSON.parse(scheduleMessage(everyDay))).toEqual({
      task: "probe.tick",
      payload: {},
      schedule: "probe-daily",
    });
  });
});
