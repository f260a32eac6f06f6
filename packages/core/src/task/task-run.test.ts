import { describe, expect, it } from "vitest";
import { rollback } from "../db/transaction";
import * as Mail from "../mail/mail";
import { RECEIPT_RETENTION_DAYS } from "./queue-policy";
import { forgetPayloads, prune } from "./task";
import { recordFailure, recordStart, runsOf } from "./task-run";

/** What bounds `task_run` (and the mail log): retention, and an account's deletion. */
describe("task runs and the mail log are not kept forever", () => {
  const day = 86_400_000;
  const now = new Date("2026-11-22T08:00:00Z");

  it("prune deletes runs that finished before the receipts' retention, keeps the rest", async () =>
    rollback(async () => {
      const old = new Date(now.getTime() - (RECEIPT_RETENTION_DAYS + 1) * day);
      await recordFailure({ id: "tsk_old_run", task: "probe.x", attempt: 5 }, new Error("x"), old);
      await recordStart({ id: "tsk_new_run", task: "probe.x", schedule: "s", attempt: 1 }, now);
      expect(await prune(now)).toMatchObject({ runs: 1 });
      expect([...(await runsOf(["tsk_old_run", "tsk_new_run"])).keys()]).toEqual(["tsk_new_run"]);
      expect(await prune(now)).toMatchObject({ runs: 0 });
    }));

  it("an account's deletion drops the recorded errors that quote its address", async () =>
    rollback(async () => {
      await recordFailure(
        { id: "tsk_names_ada", task: "probe.x", attempt: 1 },
        new Error("no account for ada@example.com"),
        now,
      );
      await recordFailure(
        { id: "tsk_names_bob", task: "probe.x", attempt: 1 },
        new Error("no account for bob@example.com"),
        now,
      );
      expect(await forgetPayloads(["ada@example.com"])).toBe(1);
      expect([...(await runsOf(["tsk_names_ada", "tsk_names_bob"])).keys()]).toEqual([
        "tsk_names_bob",
      ]);
    }));

  it("the mail log keeps a message for 30 days", async () =>
    rollback(async () => {
      await Mail.send({ to: "ada@example.com", subject: "Hi", text: "Hello" });
      const later = new Date(Date.now() + (Mail.MAIL_LOG_RETENTION_DAYS - 1) * day);
      expect(await Mail.prune(later)).toBe(0);
      const past = new Date(Date.now() + (Mail.MAIL_LOG_RETENTION_DAYS + 1) * day);
      expect(await Mail.prune(past)).toBe(1);
      expect((await Mail.recent(10)).messages).toEqual([]);
    }));
});
