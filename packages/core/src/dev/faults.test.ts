import { afterEach, describe, expect, it } from "vitest";
import { client } from "../../test/app";
import { captureLogs } from "../../test/logs";
import { delivery } from "../../test/tasks";
import { rollback } from "../db/transaction";
import { runsOf } from "../task/task-run";
import { createWorker } from "../task/worker";
import { tasks } from "../tasks";
import { DevFaults, withDevFaults } from "./faults";

const { faults } = client().api.dev;

afterEach(() => {
  for (const { task } of DevFaults.list()) DevFaults.clear(task);
});

describe("tasks made to fail on purpose (offline dev switch)", () => {
  it("a faulted task fails every delivery with the message set; cleared, the same task runs", async () =>
    rollback(async () => {
      const logs = captureLogs();
      const worker = createWorker(withDevFaults(tasks));
      const cleanup = { task: "maintenance.cleanup", payload: {}, id: "tsk_fault_1" };

      const set = await faults[":task"].$put({
        param: { task: "maintenance.cleanup" },
        json: { message: "the disk is on fire (dev fault)" },
      });
      expect(set.status).toBe(200);
      expect(await (await faults.$get()).json()).toEqual({
        faults: [{ task: "maintenance.cleanup", message: "the disk is on fire (dev fault)" }],
      });
      expect((await worker(delivery(cleanup))).batchItemFailures).toEqual([
        { itemIdentifier: "m-1" },
      ]);
      // The failure the console shows as the task's last error, and the log's.
      expect((await runsOf(["tsk_fault_1"])).get("tsk_fault_1")?.lastError).toBe(
        "DevFault: the disk is on fire (dev fault)",
      );
      expect(logs).toContainEqual(
        expect.objectContaining({
          message: "task failed",
          error: expect.objectContaining({ name: "DevFault" }),
        }),
      );
      // Another task is not touched.
      const digest = { task: "digest.daily", payload: {}, id: "tsk_fault_2" };
      expect((await worker(delivery(digest, { messageId: "m-2" }))).batchItemFailures).toEqual([]);

      const cleared = await faults[":task"].$delete({ param: { task: "maintenance.cleanup" } });
      expect(cleared.status).toBe(200);
      expect(await cleared.json()).toEqual({ task: "maintenance.cleanup" });
      // The failed delivery released its claim: the next one runs the task.
      expect((await worker(delivery(cleanup, { receiveCount: 2 }))).batchItemFailures).toEqual([]);
    }));

  it("an unknown task is 404, an empty message 400, clearing what is not set 404: nothing is set", async () => {
    const unknown = await faults[":task"].$put({
      param: { task: "nope.task" },
      json: { message: "x" },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
    const empty = await faults[":task"].$put({
      param: { task: "maintenance.cleanup" },
      json: { message: "  " },
    });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { code: "validation_failed" } });
    const notSet = await faults[":task"].$delete({ param: { task: "maintenance.cleanup" } });
    expect(notSet.status).toBe(404);
    expect(DevFaults.list()).toEqual([]);
  });
});
