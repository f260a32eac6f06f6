import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { bootApp, freshDatabase } from "../../test/database";
import { captureLogs } from "../../test/logs";
import { delivery } from "../../test/tasks";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { RECEIPT_RETENTION_DAYS } from "./queue-policy";
import { defineTask, handleTask, prune } from "./task";
import { taskReceiptTable, taskStepTable } from "./task.sql";
import { createWorker } from "./worker";

/**
 * The worker runs a handler with no transaction of its own: it claims the task's receipt, the
 * handler's calls that leave the process go through `context.step` (recorded as soon as they
 * return), and the receipt is completed afterwards. These tests run in `rollback()` (the worker
 * joins the test's transaction), except the last, which needs no transaction open at all.
 */

const stepRow = (taskId: string, name: string) =>
  useTransaction((tx) =>
    tx
      .select()
      .from(taskStepTable)
      .where(and(eq(taskStepTable.taskId, taskId), eq(taskStepTable.name, name))),
  );
const receipt = async (id: string) =>
  (
    await useTransaction((tx) =>
      tx.select().from(taskReceiptTable).where(eq(taskReceiptTable.id, id)),
    )
  )[0];

describe("a task's steps", () => {
  it("are recorded when they return: a later delivery gets the result back without calling again", async () => {
    await rollback(async () => {
      captureLogs();
      let calls = 0;
      let dies = true;
      const results: unknown[] = [];
      const probe = handleTask(defineTask("probe.step", z.object({})), async (_, { step }) => {
        results.push(
          await step("call", async () => {
            calls++;
            return { call: calls, when: "2026-11-22T08:00:00.000Z" };
          }),
        );
        if (dies) throw new Error("the delivery fails after the call returned");
      });
      const worker = createWorker([probe]);
      const envelope = { task: "probe.step", payload: {}, id: "tsk_step" };

      expect((await worker(delivery(envelope))).batchItemFailures).toHaveLength(1);
      expect(calls).toBe(1);
      expect(await stepRow("tsk_step", "call")).toMatchObject([{ result: { call: 1 } }]);
      // The failed delivery left no claim: the next one runs at once.
      expect(await receipt("tsk_step")).toBeUndefined();

      dies = false;
      expect((await worker(delivery(envelope, { receiveCount: 2 }))).batchItemFailures).toEqual([]);
      expect(calls).toBe(1);
      expect(results).toEqual([
        { call: 1, when: "2026-11-22T08:00:00.000Z" },
        { call: 1, when: "2026-11-22T08:00:00.000Z" },
      ]);
      expect(await receipt("tsk_step")).toMatchObject({
        completedAt: expect.any(Date),
        claimedUntil: null,
      });
    });
  });

  it("a step whose call fails records nothing, so the next delivery calls again", async () => {
    await rollback(async () => {
      captureLogs();
      let calls = 0;
      const probe = handleTask(defineTask("probe.flaky", z.object({})), async (_, { step }) => {
        await step("call", async () => {
          calls++;
          if (calls === 1) throw new Error("the provider is down");
          return "accepted";
        });
      });
      const worker = createWorker([probe]);
      const envelope = { task: "probe.flaky", payload: {}, id: "tsk_flaky" };
      expect((await worker(delivery(envelope))).batchItemFailures).toHaveLength(1);
      expect(await stepRow("tsk_flaky", "call")).toEqual([]);
      expect((await worker(delivery(envelope, { receiveCount: 2 }))).batchItemFailures).toEqual([]);
      expect(calls).toBe(2);
      expect(await stepRow("tsk_flaky", "call")).toMatchObject([{ result: "accepted" }]);
    });
  });

  it("a second copy of a task delivered while the first runs does not run it, and is not reported", async () => {
    await rollback(async () => {
      const logs = captureLogs();
      let calls = 0;
      let entered!: () => void;
      const inCall = new Promise<void>((resolve) => (entered = resolve));
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      const probe = handleTask(defineTask("probe.slow", z.object({})), async (_, { step }) => {
        await step("call", async () => {
          calls++;
          entered();
          await gate;
          return null;
        });
      });
      const worker = createWorker([probe]);
      const envelope = { task: "probe.slow", payload: {}, id: "tsk_slow" };

      const first = worker(delivery(envelope, { messageId: "copy-1" }));
      await inCall;
      // The relay sent the task twice (a crash between send and commit): the copies overlap.
      const second = await worker(delivery(envelope, { messageId: "copy-2" }));
      expect(second.batchItemFailures).toEqual([{ itemIdentifier: "copy-2" }]);
      finish();
      expect((await first).batchItemFailures).toEqual([]);
      // The second copy comes back after its visibility timeout and finds the task done.
      const again = await worker(delivery(envelope, { messageId: "copy-2", receiveCount: 2 }));
      expect(again.batchItemFailures).toEqual([]);
      expect(calls).toBe(1);
      // A duplicate is not a failure to report: nothing at error level (where reports go too).
      expect(logs.filter((line) => line.level === "error")).toEqual([]);
    });
  });

  it("prune deletes receipts, a crashed delivery's claim and step results past retention", async () => {
    await rollback(async () => {
      const now = new Date("2026-11-22T08:00:00Z");
      const old = new Date(now.getTime() - (RECEIPT_RETENTION_DAYS + 1) * 86_400_000);
      const recent = new Date(now.getTime() - 86_400_000);
      await useTransaction(async (tx) => {
        await tx.insert(taskReceiptTable).values([
          { id: "tsk_old_done", task: "probe.x", completedAt: old },
          { id: "tsk_old_claim", task: "probe.x", claimedUntil: old },
          { id: "tsk_new_done", task: "probe.x", completedAt: recent },
          { id: "tsk_new_claim", task: "probe.x", claimedUntil: recent },
        ]);
        await tx.insert(taskStepTable).values([
          { taskId: "tsk_old_done", name: "send", result: { messageId: "a" }, completedAt: old },
          { taskId: "tsk_new_done", name: "send", result: { messageId: "b" }, completedAt: recent },
        ]);
      });
      expect(await prune(now)).toMatchObject({ receipts: 2, steps: 1 });
      const [left] = await useTransaction((tx) =>
        queryRows<{ receipts: string[]; steps: string[] }>(
          tx,
          sql`select (select array_agg(id order by id) from task_receipt where id like 'tsk_%') as receipts,
                     (select array_agg(task_id) from task_step) as steps`,
        ),
      );
      expect(left).toEqual({
        receipts: ["tsk_new_claim", "tsk_new_done"],
        steps: ["tsk_new_done"],
      });
      expect(await prune(now)).toMatchObject({ receipts: 0, steps: 0 });
    });
  });
});

describe("a task's steps, with no transaction open (as deployed)", () => {
  it("call out with no transaction open; a step inside a transaction the handler opened throws", async () => {
    const fresh = await freshDatabase({ migrated: true });
    const booted = await bootApp(fresh.env, fresh.handle);
    await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
    const [worker, task, transaction] = await Promise.all([
      import("./worker"),
      import("./task"),
      import("../db/transaction"),
    ]);
    const logs = captureLogs();

    const seen: boolean[] = [];
    const outside = task.handleTask(
      task.defineTask("probe.outside", z.object({})),
      async (_, { step }) => {
        await step("call", async () => {
          seen.push(transaction.inTransaction());
          return null;
        });
      },
    );
    const inside = task.handleTask(
      task.defineTask("probe.inside", z.object({})),
      async (_, { step }) => {
        await transaction.createTransaction(() =>
          step("call", async () => {
            seen.push(transaction.inTransaction());
            return null;
          }),
        );
      },
    );
    const run = worker.createWorker([outside, inside]);
    expect(
      (await run(delivery({ task: "probe.outside", payload: {}, id: "tsk_out" })))
        .batchItemFailures,
    ).toEqual([]);
    expect(seen).toEqual([false]);
    expect(
      (await run(delivery({ task: "probe.inside", payload: {}, id: "tsk_in" }))).batchItemFailures,
    ).toHaveLength(1);
    // Refused before the call: nothing waited on the outside world with a connection held.
    expect(seen).toEqual([false]);
    const failed = logs.find((line) => line.message === "task failed");
    expect(JSON.stringify(failed)).toContain('step \\"call\\" was called inside a transaction');
  });
});
