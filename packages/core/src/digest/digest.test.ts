import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { as, signupUser } from "../../test/app";
import { drain as drainTasks } from "../../test/tasks";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { Mail } from "../mail";
import { mailTasks } from "../mail/mail.tasks";
import { localQueue } from "../task/runtime";
import { sendDaily } from "./digest";
import { digestTasks } from "./digest.tasks";

const drain = () => drainTasks([...mailTasks, ...digestTasks]);

describe("daily digest", () => {
  it("emails each user whose notes changed in the last day, once, listing them", async () =>
    rollback(async () => {
      const ada = await signupUser({ name: "Ada" });
      const bob = await signupUser({ name: "Bob" });
      const quiet = await signupUser({ name: "Quiet" });
      const engines = await as(ada.cookie).send("POST", "/api/notes", { title: "Engines" });
      await as(bob.cookie).send("POST", "/api/notes", { title: "Bobbins" });
      const { note } = (await (
        await as(quiet.cookie).send("POST", "/api/notes", { title: "Old" })
      ).json()) as { note: { id: string } };
      // The test runs in one transaction, where now() never moves, so notes share updated_at.
      // Engines is moved an hour back: the order (oldest change first) is decided by time.
      // Two more tie on time and are stored against their ID order: the ID decides, so the
      // email reads the same every time. Old leaves the 24-hour window.
      const enginesID = ((await engines.json()) as { note: { id: string } }).note.id;
      await useTransaction(async (tx) => {
        await tx.execute(
          sql`update note set updated_at = now() - interval '1 hour' where id = ${enginesID}`,
        );
        for (const [id, title] of [
          ["not_7ZZZZZZZZZZZZZZZZZZZZZZZZ2", "Looms"],
          ["not_7ZZZZZZZZZZZZZZZZZZZZZZZZ1", "Punch cards"],
        ])
          await tx.execute(
            sql`insert into note (id, user_id, title) values (${id}, ${ada.user.id}, ${title})`,
          );
        await tx.execute(
          sql`update note set updated_at = now() - interval '2 days' where id = ${note.id}`,
        );
      });

      expect(await sendDaily()).toEqual({ users: 2, sent: 2 });
      await drain();
      const mail = await Mail.devMailbox();
      expect(mail.map((m) => m.to).sort()).toEqual([ada.email, bob.email].sort());
      const adas = mail.find((m) => m.to === ada.email);
      expect(adas?.subject).toBe("Your notes: 3 changed in the last day");
      expect(adas?.text).toContain("- Engines\n- Punch cards\n- Looms");
    }));

  it("sends nothing twice: the task running again the same day, or its email delivered twice", async () =>
    rollback(async () => {
      const ada = await signupUser();
      await as(ada.cookie).send("POST", "/api/notes", { title: "Once" });
      await sendDaily();
      expect(await sendDaily()).toEqual({ users: 1, sent: 0 });
      await drain();
      // The same delivery arriving again (SQS at-least-once) is skipped by its receipt.
      const [outbox] = await useTransaction((tx) =>
        queryRows<{ id: string }>(tx, sql`select id from task_outbox where task = 'mail.deliver'`),
      );
      await localQueue().sendRaw(
        JSON.stringify({
          task: "mail.deliver",
          payload: { to: ada.email, subject: "s", text: "t" },
          id: outbox?.id,
        }),
      );
      await drain();
      expect(await Mail.devMailbox()).toHaveLength(1);
    }));
});
