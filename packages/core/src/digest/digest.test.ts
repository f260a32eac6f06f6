import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { as, signupUser as signupUnverified } from "../../test/app";
import { captureLogs } from "../../test/logs";
import { drain as drainTasks } from "../../test/tasks";
import { accountTasks } from "../account/account.tasks";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { createID } from "../id";
import { Mail } from "../mail";
import { mailTasks } from "../mail/mail.tasks";
import { scheduleMessage } from "../task/queue-policy";
import { localQueue } from "../task/runtime";
import { relay } from "../task/task";
import { createWorker } from "../task/worker";
import {
  digestText,
  MAX_LISTED_TITLES,
  MAX_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  sendDaily,
} from "./digest";
import { digestDaily } from "./digest.schedules";
import { digestTasks } from "./digest.tasks";

// accountTasks: each signup queues a verification mail (skipped: these users are verified).
const handlers = [...accountTasks, ...mailTasks, ...digestTasks];
const drain = () => drainTasks(handlers);

/** A user whose address is verified: the digest goes only to those. */
async function signupUser(overrides: Parameters<typeof signupUnverified>[0] = {}) {
  const account = await signupUnverified(overrides);
  await useTransaction((tx) =>
    tx.execute(sql`update "user" set email_verified_at = now() where id = ${account.user.id}`),
  );
  return account;
}

/**
 * `drain`, but a failing task is left on the queue (in flight, as SQS would until its visibility
 * timeout) instead of failing the test; returns the failed messages' bodies.
 */
async function drainAllowingFailures(): Promise<string[]> {
  const worker = createWorker(handlers);
  const failed: string[] = [];
  for (;;) {
    await relay();
    const batch = await localQueue().receive(10);
    if (batch.length === 0) return failed;
    const { batchItemFailures } = await worker(localQueue().toEvent(batch));
    const failedIDs = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    failed.push(...batch.filter((m) => failedIDs.has(m.messageId)).map((m) => m.body));
    await localQueue().delete(
      batch.filter((m) => !failedIDs.has(m.messageId)).map((m) => m.receiptHandle),
    );
  }
}

const digestsSent = () =>
  useTransaction((tx) =>
    queryRows<{ user_id: string }>(tx, sql`select user_id from digest_sent order by user_id`),
  ).then((rows) => rows.map((row) => row.user_id));

const countOf = async (task: string) => {
  const [row] = await useTransaction((tx) =>
    queryRows<{ n: number }>(
      tx,
      sql`select count(*)::int as n from task_outbox where task = ${task}`,
    ),
  );
  return row?.n ?? 0;
};

describe("daily digest", () => {
  it("skips a user whose address is not verified, in the fan-out and in sendOne", async () =>
    rollback(async () => {
      // Fails without the verified filter: the unverified user got a digest.
      const unverified = await signupUnverified({ name: "Unverified" });
      const verified = await signupUser({ name: "Verified" });
      for (const { cookie } of [unverified, verified])
        await as(cookie).send("POST", "/api/notes", { title: "Changed" });
      expect(await sendDaily()).toEqual({ users: 1, sent: 1 });
      await drain();
      const digests = (await Mail.devMailbox()).filter((m) => m.subject.startsWith("Your notes"));
      expect(digests.map((m) => m.to)).toEqual([verified.email]);
      // A sendOne queued before the address stopped being verified sends nothing either.
      const { sendOne } = await import("./digest");
      expect(await sendOne({ userId: unverified.user.id, until: new Date().toISOString() })).toBe(
        "skipped",
      );
      expect(await digestsSent()).toEqual([verified.user.id]);
    }));

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

  it("a user with hundreds of long titles gets a digest cut to fit, and the user beside them theirs", async () =>
    rollback(async () => {
      const heavy = await signupUser({ name: "Heavy" });
      const light = await signupUser({ name: "Light" });
      await as(light.cookie).send("POST", "/api/notes", { title: "Bobbins" });
      // 500 notes with titles of the API's maximum, written in one transaction (so one
      // updated_at: their IDs order them), and first a title stored before that limit existed.
      await useTransaction((tx) =>
        tx.execute(sql`
          insert into note (id, user_id, title)
          select 'not_8' || lpad(i::text, 25, '0'), ${heavy.user.id},
                 case when i = 0 then repeat('Long ', 2000)
                      else 'Note ' || lpad(i::text, 3, '0') || ' ' || repeat('x', 191) end
          from generate_series(0, 500) as i`),
      );
      const titles = await useTransaction((tx) =>
        queryRows<{ title: string }>(
          tx,
          sql`select title from note where user_id = ${heavy.user.id} order by id`,
        ),
      );
      expect(titles).toHaveLength(501);
      expect(titles[1]?.title).toHaveLength(200);
      // Listing them all is the mail the mail module refuses: the old digest failed for everyone.
      const everything = {
        to: heavy.email,
        subject: "s",
        text: titles.map((t) => `- ${t.title}`).join("\n"),
      };
      expect(Mail.Message.safeParse(everything).success).toBe(false);

      expect(await sendDaily()).toEqual({ users: 2, sent: 2 });
      await drain();
      const mail = await Mail.devMailbox();
      expect(mail.map((m) => m.to).sort()).toEqual([heavy.email, light.email].sort());

      const lights = mail.find((m) => m.to === light.email);
      expect(lights?.text).toBe(
        "Hello Light,\n\nThese notes changed in the last 24 hours:\n- Bobbins",
      );

      const heavys = mail.find((m) => m.to === heavy.email);
      expect(heavys?.subject).toBe("Your notes: 501 changed in the last day");
      const text = heavys?.text ?? "";
      expect(text.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
      const listed = text.split("\n").filter((line) => line.startsWith("- "));
      expect(listed.length).toBeGreaterThan(10);
      expect(listed.length).toBeLessThanOrEqual(MAX_LISTED_TITLES);
      // The oldest first, in ID order; the long one cut to MAX_TITLE_LENGTH with an ellipsis.
      expect(listed[0]).toBe(`- ${"Long ".repeat(40).slice(0, MAX_TITLE_LENGTH - 1)}…`);
      expect(listed.slice(1)).toEqual(titles.slice(1, listed.length).map((t) => `- ${t.title}`));
      expect(text.endsWith(`\nand ${501 - listed.length} more`)).toBe(true);
    }));

  it("the daily task, run twice and over several pages of users, sends each user one mail", async () =>
    rollback(async () => {
      // Written directly (no scrypt per signup); IDs made in order, so the pages are known.
      const users = Array.from({ length: 6 }, (_, i) => ({
        id: createID("user"),
        email: `paged${i}.${Date.now()}@example.com`,
      }));
      await useTransaction(async (tx) => {
        for (const [i, user] of users.entries()) {
          await tx.execute(
            sql`insert into "user" (id, email, name, password_hash, email_verified_at) values (${user.id}, ${user.email}, ${`P${i}`}, 'x', now())`,
          );
          await tx.execute(
            sql`insert into note (id, user_id, title, updated_at) values (${createID("note")}, ${user.id}, 'Note', now() - ${i === 5 ? "2 days" : "1 hour"}::interval)`,
          );
        }
      });
      const quiet = users.pop();
      // Two users a page: this page queues the first two and the page after them, in one
      // transaction; the pages that follow run as tasks.
      expect(await sendDaily(new Date(), { pageSize: 2 })).toEqual({ users: 2, sent: 2 });
      // And the schedule fires twice (a retry, an operator's `tasks run`): two more fan-outs.
      await localQueue().sendRaw(scheduleMessage(digestDaily));
      await localQueue().sendRaw(scheduleMessage(digestDaily));
      await drain();

      const mail = await Mail.devMailbox();
      expect(mail.map((m) => m.to).sort()).toEqual(users.map((u) => u.email).sort());
      expect(await digestsSent()).toEqual(users.map((u) => u.id).sort());
      expect(mail.some((m) => m.to === quiet?.email)).toBe(false);
      // Pages after user 2 and user 4; the third held one user, so the walk stopped.
      expect(await countOf("digest.dailyPage")).toBe(2);
      expect(await countOf("digest.sendOne")).toBe(5);
      expect(await countOf("mail.deliver")).toBe(5);

      // A user's task arriving as a new task (re-queued by hand, or its dedup key pruned): the
      // digest_sent guard, and behind it the email's dedup key, still send nothing twice.
      const [first] = await useTransaction((tx) =>
        queryRows<{ payload: unknown }>(
          tx,
          sql`select payload from task_outbox where task = 'digest.sendOne' limit 1`,
        ),
      );
      await localQueue().sendRaw(
        JSON.stringify({ task: "digest.sendOne", payload: first?.payload }),
      );
      await drain();
      expect(await Mail.devMailbox()).toHaveLength(5);
    }));

  it("one user's failing digest stops no one else's, and goes out once it can", async () =>
    rollback(async () => {
      const logs = captureLogs();
      const [ada, bob, cy] = [await signupUser(), await signupUser(), await signupUser()];
      for (const user of [ada, bob, cy])
        await as(user.cookie).send("POST", "/api/notes", { title: "Changed" });
      // An address the mail schema rejects (say, stored before the account module checked it).
      await useTransaction((tx) =>
        tx.execute(sql`update "user" set email = 'bob at example' where id = ${bob.user.id}`),
      );

      expect(await sendDaily()).toEqual({ users: 3, sent: 3 });
      const failed = await drainAllowingFailures();
      expect(failed.map((body) => JSON.parse(body))).toEqual([
        expect.objectContaining({
          task: "digest.sendOne",
          payload: expect.objectContaining({ userId: bob.user.id }),
        }),
      ]);
      expect(logs).toContainEqual(
        expect.objectContaining({ level: "error", message: "task failed" }),
      );
      expect((await Mail.devMailbox()).map((m) => m.to).sort()).toEqual(
        [ada.email, cy.email].sort(),
      );
      // Bob's guard rolled back with his task: a later delivery of it still sends his digest.
      expect(await digestsSent()).toEqual([ada.user.id, cy.user.id].sort());

      await useTransaction((tx) =>
        tx.execute(sql`update "user" set email = ${bob.email} where id = ${bob.user.id}`),
      );
      await localQueue().sendRaw(failed[0] ?? "");
      await drain();
      expect((await Mail.devMailbox()).map((m) => m.to).sort()).toEqual(
        [ada.email, bob.email, cy.email].sort(),
      );
    }));
});

describe("digest text", () => {
  const header = "Hello Ada,\n\nThese notes changed in the last 24 hours:";

  it("lists every title when they fit", () => {
    const titles = Array.from({ length: MAX_LISTED_TITLES }, (_, i) => `T${i}`);
    const text = digestText("Ada", titles, titles.length);
    expect(text).toBe([header, ...titles.map((t) => `- ${t}`)].join("\n"));
  });

  it("stops at MAX_LISTED_TITLES and counts the rest, even past the titles it was given", () => {
    const titles = Array.from({ length: MAX_LISTED_TITLES + 1 }, (_, i) => `T${i}`);
    const text = digestText("Ada", titles, 500);
    expect(text.split("\n").filter((l) => l.startsWith("- "))).toHaveLength(MAX_LISTED_TITLES);
    expect(
      text.endsWith(`\n- T${MAX_LISTED_TITLES - 1}\nand ${500 - MAX_LISTED_TITLES} more`),
    ).toBe(true);
  });

  it("stays within MAX_TEXT_LENGTH whatever the titles and name, one line per title", () => {
    const huge = "😀".repeat(60_000);
    const titles = Array.from({ length: MAX_LISTED_TITLES }, () => huge);
    const text = digestText("n\n".repeat(50_000), titles, 1_000_000);
    expect(text.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(Mail.Message.safeParse({ to: "a@example.com", subject: "s", text }).success).toBe(true);
    const lines = text.split("\n");
    expect(lines.at(-1)).toMatch(/^and \d+ more$/);
    const listed = lines.filter((l) => l.startsWith("- "));
    expect(lines.at(-1)).toBe(`and ${1_000_000 - listed.length} more`);
    // Cut on a code point, never half an emoji.
    expect(listed[0]).toBe(`- ${"😀".repeat((MAX_TITLE_LENGTH - 2) / 2)}…`);
    expect(digestText("Ada", ["line\nand 3 more"], 1)).toBe(`${header}\n- line and 3 more`);
  });
});
