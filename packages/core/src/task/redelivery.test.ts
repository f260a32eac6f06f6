import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { as, signupUser } from "../../test/app";
import { captureLogs } from "../../test/logs";
import { delivery, drain } from "../../test/tasks";
import { A_PNG_DECLARED, PNG, postForm, startUpload } from "../../test/uploads";
import { keys } from "../attachment/attachment.keys";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { setStorage, storage } from "../storage/storage";
import { tasks } from "../tasks";
import { localQueue } from "./runtime";
import { relay } from "./task";
import { createWorker } from "./worker";

/**
 * A handler's effects commit as they happen, not with its receipt: a delivery that dies after
 * one of them is delivered again and must finish the work without repeating it.
 */
describe("a task delivered again after its delivery died part-way", () => {
  it("attachments.process: the verdict committed, the upload not yet deleted; the next delivery deletes it and changes nothing else", async () => {
    await rollback(async () => {
      captureLogs();
      const { cookie } = await signupUser();
      await drain(tasks); // the signup's verification mail: the queue holds only what follows
      const { attachment, upload } = await startUpload(cookie, A_PNG_DECLARED);
      expect((await postForm(upload, PNG)).status).toBe(204);
      const { incoming, file } = keys(attachment.id);
      expect(
        (await as(cookie).send("POST", `/api/attachments/${attachment.id}/complete`)).status,
      ).toBe(202);
      await relay();
      const [message] = await localQueue().receive(10);
      const envelope = JSON.parse(message?.body ?? "{}");
      expect(envelope).toMatchObject({ task: "attachments.process" });

      // The process dies when it comes to delete the upload, after the verdict committed.
      const real = await storage();
      let copies = 0;
      let dies = true;
      setStorage({
        ...real,
        copy: async (from, to) => {
          copies++;
          return real.copy(from, to);
        },
        delete: async (key) => {
          if (dies && key === incoming) throw new Error("worker killed");
          return real.delete(key);
        },
      });
      const state = () =>
        useTransaction((tx) =>
          queryRows<{ status: string; sha256: string | null }>(
            tx,
            sql`select status, sha256 from attachment where id = ${attachment.id}`,
          ),
        );
      const sha256 = createHash("sha256").update(PNG).digest("hex");
      const worker = createWorker(tasks);
      try {
        expect((await worker(delivery(envelope))).batchItemFailures).toHaveLength(1);
        expect(await state()).toEqual([{ status: "ready", sha256 }]);
        expect(await real.head(incoming)).toBeDefined();

        // SQS delivers it again.
        dies = false;
        expect((await worker(delivery(envelope, { receiveCount: 2 }))).batchItemFailures).toEqual(
          [],
        );
      } finally {
        setStorage(real);
      }
      expect(copies).toBe(1);
      expect(await real.head(incoming)).toBeUndefined();
      expect(await real.head(file)).toMatchObject({ size: PNG.byteLength });
      expect(await state()).toEqual([{ status: "ready", sha256 }]);
      const [queued] = await useTransaction((tx) =>
        queryRows<{ n: number }>(
          tx,
          sql`select count(*)::int as n from task_outbox where task = 'attachments.deleteObjects'`,
        ),
      );
      expect(queued?.n).toBe(0);
    });
  });
});
