import type { SQSEvent } from "aws-lambda";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { captureLogs } from "../../test/logs";
import { queryRows } from "../db/client";
import { createTransaction, rollback, useTransaction } from "../db/transaction";
import { withLogContext } from "../log";
import { createLocalQueue } from "./local-queue";
import { localQueue } from "./runtime";
import { defineTask, enqueue, handleTask, relay } from "./task";
import { taskOutboxTable, taskReceiptTable } from "./task.sql";
import { createWorker } from "./worker";

/**
 * Every test runs inside `rollback()`: the outbox, the relay, the local queue and the worker all
 * join that one transaction, so tests stay independent on a shared Postgres as well.
 */

const effects: string[] = [];
const probe = handleTask(
  defineTask("probe.record", z.object({ note: z.string() })),
  async ({ note }, { id }) => {
    effects.push(note);
    // A database effect, to show a duplicate delivery does not repeat it.
    await useTransaction((tx) => tx.execute(sql`select ${id}::text`));
  },
);
const failing = handleTask(defineTask("probe.fail", z.object({})), async () => {
  throw new Error("always fails");
});
const worker = createWorker([probe, failing]);

const outboxRows = () => useTransaction((tx) => tx.select().from(taskOutboxTable));

function sqsEvent(...bodies: { id: string; body: string; receiveCount?: number }[]): SQSEvent {
  const queue = createLocalQueue({
    queue: "q",
    deadLetterQueue: "dlq",
    maxReceiveCount: 5,
    visibilityTimeoutSeconds: 30,
  });
  return queue.toEvent(
    bodies.map((b) => ({
      messageId: b.id,
      receiptHandle: `rh-${b.id}`,
      body: b.body,
      receiveCount: b.receiveCount ?? 1,
      sentAt: new Date(),
      firstReceivedAt: new Date(),
    })),
  );
}

describe("outbox", () => {
  it("a rolled-back write sends nothing", async () => {
    await rollback(async () => {
      await expect(
        createTransaction(async () => {
          await enqueue(probe, { note: "never" });
          throw new Error("the business write fails");
        }),
      ).rejects.toThrow("the business write fails");
      // Nothing in the outbox, nothing queued, whatever relays later.
      expect(await outboxRows()).toEqual([]);
      await relay();
      expect((await localQueue().depth()).queue.total).toBe(0);
    });
  });

  it("a committed enqueue is relayed after commit, with the task id in the envelope", async () => {
    const { effects: afterCommit } = await rollback(async () => {
      const { id, enqueued } = await enqueue(probe, { note: "hello" }, { requestId: "req-1" });
      expect(enqueued).toBe(true);
      expect(await outboxRows()).toMatchObject([{ id, task: "probe.record", relayedAt: null }]);
      // What the after-commit effect does:
      expect(await relay()).toBe(1);
      const [message] = await localQueue().receive();
      expect(JSON.parse(message?.body ?? "{}")).toEqual({
        task: "probe.record",
        payload: { note: "hello" },
        id,
        requestId: "req-1",
      });
      expect((await outboxRows())[0]?.relayedAt).toBeInstanceOf(Date);
    });
    expect(afterCommit).toHaveLength(1); // the relay, queued for after commit
  });

  it("the sweep relays what a crash left between commit and relay", async () => {
    await rollback(async () => {
      // The state a crash leaves: committed outbox row, no relay ran.
      await useTransaction((tx) =>
        tx.insert(taskOutboxTable).values({
          id: "tsk_crashed",
          task: "probe.record",
          payload: { note: "late" },
          availableAt: new Date(),
        }),
      );
      expect(await relay()).toBe(1);
      expect(await relay()).toBe(0); // relayed once only
      const [message] = await localQueue().receive();
      expect(JSON.parse(message?.body ?? "{}")).toMatchObject({ id: "tsk_crashed" });
    });
  });

  it("delays: due within 15 minutes goes out delayed; later stays in the outbox until due", async () => {
    await rollback(async () => {
      const now = new Date();
      await enqueue(probe, { note: "soon" }, { delaySeconds: 120 });
      await enqueue(probe, { note: "tomorrow" }, { delaySeconds: 86_400 });
      expect(await relay(now)).toBe(1);
      const depth = await localQueue().depth();
      expect(depth.queue).toEqual({ visible: 0, total: 1 }); // sent with a delay: not visible yet
      const pending = (await outboxRows()).filter((row) => row.relayedAt === null);
      expect(pending.map((row) => row.payload)).toEqual([{ note: "tomorrow" }]);
    });
  });

  it("carries the enqueuing request's id when none is given", async () => {
    await rollback(async () => {
      await withLogContext({ requestId: "req-from-context" }, () => enqueue(probe, { note: "x" }));
      expect((await outboxRows())[0]?.requestId).toBe("req-from-context");
    });
  });

  it("a dedup key enqueues once", async () => {
    await rollback(async () => {
      expect(
        (await enqueue(probe, { note: "a" }, { dedupKey: "digest:u1:2026-11-22" })).enqueued,
      ).toBe(true);
      expect(
        (await enqueue(probe, { note: "b" }, { dedupKey: "digest:u1:2026-11-22" })).enqueued,
      ).toBe(false);
      expect(await outboxRows()).toHaveLength(1);
    });
  });

  it("rejects an invalid payload before anything is written", async () => {
    await rollback(async () => {
      await expect(enqueue(probe, { note: 42 } as unknown as { note: string })).rejects.toThrow(
        z.ZodError,
      );
      expect(await outboxRows()).toEqual([]);
    });
  });
});

describe("worker", () => {
  it("runs each task once: a second delivery of the same task id has no effect", async () => {
    await rollback(async () => {
      effects.length = 0;
      const body = JSON.stringify({
        task: "probe.record",
        payload: { note: "once" },
        id: "tsk_dup",
      });
      expect(await worker(sqsEvent({ id: "m1", body }))).toEqual({ batchItemFailures: [] });
      // SQS delivers it again (another message id, the same task id).
      expect(await worker(sqsEvent({ id: "m2", body, receiveCount: 2 }))).toEqual({
        batchItemFailures: [],
      });
      expect(effects).toEqual(["once"]);
      const receipts = await useTransaction((tx) =>
        tx.select().from(taskReceiptTable).where(eq(taskReceiptTable.id, "tsk_dup")),
      );
      expect(receipts).toHaveLength(1);
    });
  });

  it("reports only the failed records of a batch; malformed ones fail without blocking the rest", async () => {
    await rollback(async () => {
      effects.length = 0;
      const logs = captureLogs();
      const result = await worker(
        sqsEvent(
          {
            id: "ok-1",
            body: JSON.stringify({ task: "probe.record", payload: { note: "first" }, id: "tsk_a" }),
          },
          { id: "not-json", body: "{oops" },
          { id: "unknown", body: JSON.stringify({ task: "nobody.home", payload: {} }) },
          {
            id: "bad-payload",
            body: JSON.stringify({ task: "probe.record", payload: { note: 1 } }),
          },
          { id: "throws", body: JSON.stringify({ task: "probe.fail", payload: {} }) },
          {
            id: "ok-2",
            body: JSON.stringify({ task: "probe.record", payload: { note: "last" }, id: "tsk_b" }),
          },
        ),
      );
      expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
        "not-json",
        "unknown",
        "bad-payload",
        "throws",
      ]);
      expect(effects).toEqual(["first", "last"]);
      const failures = logs.filter((line) => line.message === "task failed");
      expect(failures.map((line) => line.messageId)).toEqual([
        "not-json",
        "unknown",
        "bad-payload",
        "throws",
      ]);
    });
  });

  it("a failing task leaves no receipt and none of its writes, so a retry runs it again", async () => {
    await rollback(async () => {
      captureLogs();
      // Writes that must not outlive a failure share its transaction: the handler's own.
      const writesThenFails = handleTask(defineTask("probe.partial", z.object({})), async () =>
        createTransaction(async (tx) => {
          await tx.execute(sql`create temporary table partial_write (x int)`);
          throw new Error("fails after writing");
        }),
      );
      const partialWorker = createWorker([writesThenFails]);
      const body = JSON.stringify({ task: "probe.partial", payload: {}, id: "tsk_partial" });
      expect((await partialWorker(sqsEvent({ id: "m", body }))).batchItemFailures).toHaveLength(1);
      const [state] = await useTransaction((tx) =>
        queryRows<{ receipts: number; table: string | null }>(
          tx,
          sql`select (select count(*)::int from task_receipt where id = 'tsk_partial') as receipts,
                     to_regclass('pg_temp.partial_write')::text as table`,
        ),
      );
      expect(state).toEqual({ receipts: 0, table: null });
    });
  });
});

describe("local queue (SQS semantics)", () => {
  function clockedQueue() {
    let now = new Date("2026-11-22T08:00:00Z");
    const queue = createLocalQueue({
      queue: "sem",
      deadLetterQueue: "sem-dlq",
      maxReceiveCount: 5,
      visibilityTimeoutSeconds: 30,
      clock: () => now,
    });
    return {
      queue,
      advance: (seconds: number) => (now = new Date(now.getTime() + seconds * 1000)),
    };
  }

  it("a poison message reaches the DLQ after 5 receives while the rest of its batches succeed", async () => {
    await rollback(async () => {
      captureLogs();
      effects.length = 0;
      const { queue, advance } = clockedQueue();
      await queue.send([
        { id: "1", body: JSON.stringify({ task: "probe.fail", payload: {} }), delaySeconds: 0 },
        {
          id: "2",
          body: JSON.stringify({ task: "probe.record", payload: { note: "good" }, id: "tsk_good" }),
          delaySeconds: 0,
        },
      ]);
      const deliveries: number[] = [];
      for (let round = 0; round < 7; round++) {
        const batch = await queue.receive(10);
        if (batch.length > 0) {
          const { batchItemFailures } = await worker(queue.toEvent(batch));
          const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
          deliveries.push(
            ...batch.filter((m) => failed.has(m.messageId)).map((m) => m.receiveCount),
          );
          await queue.delete(
            batch.filter((m) => !failed.has(m.messageId)).map((m) => m.receiptHandle),
          );
        }
        // Not visible again before the visibility timeout...
        expect(await queue.receive(10)).toEqual([]);
        advance(31); // ...and visible after it.
      }
      expect(effects).toEqual(["good"]);
      expect(deliveries).toEqual([1, 2, 3, 4, 5]);
      const dead = await queue.deadLetters();
      expect(dead.map((m) => JSON.parse(m.body).task)).toEqual(["probe.fail"]);
      expect(await queue.depth()).toEqual({ queue: { visible: 0, total: 0 }, deadLetters: 1 });

      // Redrive puts it back with a fresh receive count.
      expect(await queue.redrive()).toBe(1);
      const [again] = await queue.receive(10);
      expect(again?.receiveCount).toBe(1);
    });
  });

  it("honours delays, and deletes only with the latest receipt handle", async () => {
    await rollback(async () => {
      const { queue, advance } = clockedQueue();
      await queue.send([{ id: "d", body: "later", delaySeconds: 60 }]);
      expect(await queue.receive()).toEqual([]);
      advance(60);
      const [first] = await queue.receive();
      expect(first?.body).toBe("later");
      advance(31);
      const [second] = await queue.receive();
      expect(second?.receiveCount).toBe(2);
      // The first receiver's handle is stale: deleting with it does nothing.
      await queue.delete([first?.receiptHandle ?? ""]);
      expect((await queue.depth()).queue.total).toBe(1);
      await queue.delete([second?.receiptHandle ?? ""]);
      expect((await queue.depth()).queue.total).toBe(0);
    });
  });

  it("hands the worker real SQS event records", async () => {
    await rollback(async () => {
      const { queue } = clockedQueue();
      await queue.send([{ id: "e", body: '{"task":"probe.record"}', delaySeconds: 0 }]);
      const [record] = queue.toEvent(await queue.receive()).Records;
      expect(record).toMatchObject({
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:local:000000000000:sem",
        body: '{"task":"probe.record"}',
        md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
        attributes: { ApproximateReceiveCount: "1", SenderId: "local" },
      });
    });
  });
});
