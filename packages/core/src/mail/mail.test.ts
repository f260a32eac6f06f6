import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { mockClient } from "aws-sdk-client-mock";
import { type SQL, sql } from "drizzle-orm";
import postgres from "postgres";
import { describe, expect, it, onTestFinished, vi } from "vitest";
import { bootApp, type FreshDatabase, freshDatabase } from "../../test/database";
import { captureLogs } from "../../test/logs";
import { delivery } from "../../test/tasks";
import { queryRows } from "../db/client";
import { rollback, useTransaction } from "../db/transaction";
import { deliver, devMailbox } from "./mail";

// The SST links of a deployed stage, for the apps these tests boot: with an Email link, mail goes
// through SES. The test file's own app (loaded by test/setup.ts before this mock) has none.
const links = vi.hoisted(() => ({}) as Record<string, unknown>);
vi.mock("sst/resource", () => ({ Resource: links }));

const message = { to: "ada@example.com", subject: "Your notes", text: "Hello Ada" };

/**
 * A new app on a database of its own, with SES linked, and nothing open around the worker: as
 * deployed, each statement and transaction commits for real.
 */
async function bootWithSes() {
  links.Email = { sender: "Slipway <no-reply@example.com>" };
  onTestFinished(() => {
    delete links.Email;
  });
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp(fresh.env, fresh.handle);
  await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
  expect(booted.config.mail.kind).toBe("ses");
  const [{ createWorker }, { mailTasks }, transaction] = await Promise.all([
    import("../task/worker"),
    import("./mail.tasks"),
    import("../db/transaction"),
  ]);
  const db = fresh.handle.db;
  const run = (statement: SQL) => db.execute(statement);
  return { fresh, db, worker: createWorker(mailTasks), transaction, run };
}

/** Sessions of the test database, other than the one asking, that sit in an open transaction. */
async function sessionsOf(fresh: FreshDatabase) {
  const url = fresh.env.DATABASE_URL;
  if (!url) return undefined; // PGlite: one connection in this process, no server to ask
  const observer = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await observer<{ open: number; idleInTransaction: number }[]>`
      select count(*)::int as open,
             count(*) filter (where state like 'idle in transaction%')::int as "idleInTransaction"
        from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid()`;
    return row;
  } finally {
    await observer.end();
  }
}

/** SES at the SDK's edge: every SESv2Client in this process, until the test ends. */
function sesMock() {
  const ses = mockClient(SESv2Client);
  onTestFinished(() => ses.restore());
  return ses;
}

const deliverMail = (id: string, receiveCount = 1) =>
  delivery({ task: "mail.deliver", payload: message, id }, { receiveCount });

describe("mail.deliver through SES", () => {
  it("is sent once: a delivery that fails after SES accepted the mail is not sent again by the next", async () => {
    const ses = sesMock();
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-message-1" });
    const { worker, run, db } = await bootWithSes();
    const logs = captureLogs();
    // Planted: the task's receipt does not commit (the database fails at the very end of the
    // delivery, after the send was recorded).
    await run(sql`create table fail_receipt (id text primary key)`);
    await run(sql`create function fail_receipt() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from fail_receipt where id = new.id) then
          raise exception 'planted: the receipt does not commit';
        end if;
        return null;
      end $$`);
    await run(sql`create constraint trigger fail_receipt after insert or update on task_receipt
      deferrable initially deferred for each row when (new.completed_at is not null)
      execute function fail_receipt()`);
    await run(sql`insert into fail_receipt values ('tsk_mail')`);

    expect((await worker(deliverMail("tsk_mail"))).batchItemFailures).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input).toMatchObject({
      FromEmailAddress: "Slipway <no-reply@example.com>",
      Destination: { ToAddresses: ["ada@example.com"] },
      Content: {
        Simple: { Subject: { Data: "Your notes" }, Body: { Text: { Data: "Hello Ada" } } },
      },
    });
    expect(JSON.stringify(logs.find((line) => line.message === "task failed"))).toContain(
      "planted: the receipt does not commit",
    );

    // The database is back; SQS delivers the task again, and then once more.
    await run(sql`delete from fail_receipt`);
    expect((await worker(deliverMail("tsk_mail", 2))).batchItemFailures).toEqual([]);
    expect((await worker(deliverMail("tsk_mail", 3))).batchItemFailures).toEqual([]);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);

    const [state] = await queryRows<{ step: unknown; completed: boolean }>(
      db,
      sql`select (select result from task_step where task_id = 'tsk_mail' and name = 'send') as step,
                 (select completed_at is not null from task_receipt where id = 'tsk_mail') as completed`,
    );
    expect(state).toEqual({ step: { messageId: "ses-message-1" }, completed: true });
  });

  it("holds no transaction, and no pooled connection in one, while SES is called", async () => {
    const { worker, transaction, fresh } = await bootWithSes();
    const during: {
      inTransaction: boolean;
      sessions?: { open: number; idleInTransaction: number };
    }[] = [];
    const ses = sesMock();
    ses.on(SendEmailCommand).callsFake(async () => {
      during.push({
        inTransaction: transaction.inTransaction(),
        sessions: await sessionsOf(fresh),
      });
      return { MessageId: "ses-message-2" };
    });
    expect((await worker(deliverMail("tsk_idle"))).batchItemFailures).toEqual([]);
    expect(during).toHaveLength(1);
    expect(during[0]?.inTransaction).toBe(false);
    if (process.env.TEST_DATABASE_URL) {
      // The worker's pool is connected (it claimed the task just before), and idle.
      expect(during[0]?.sessions).toEqual({ open: expect.any(Number), idleInTransaction: 0 });
      expect(during[0]?.sessions?.open).toBeGreaterThan(0);
    }
  });

  it("a failed send is sent again by the next delivery, which records it", async () => {
    const ses = sesMock();
    ses
      .on(SendEmailCommand)
      .rejectsOnce(new Error("Throttling: maximum sending rate exceeded"))
      .resolves({ MessageId: "ses-message-3" });
    const { worker, db } = await bootWithSes();
    captureLogs();
    const logged = () =>
      queryRows<Record<string, unknown>>(
        db,
        sql`select status, provider, provider_message_id, error, attempts from mail_message where id = 'tsk_retry'`,
      );
    expect((await worker(deliverMail("tsk_retry"))).batchItemFailures).toHaveLength(1);
    // The mail log (the console's mail view) says why, and that it is not sent yet.
    expect(await logged()).toEqual([
      {
        status: "failed",
        provider: "ses",
        provider_message_id: null,
        error: "Error: Throttling: maximum sending rate exceeded",
        attempts: 1,
      },
    ]);
    expect((await worker(deliverMail("tsk_retry", 2))).batchItemFailures).toEqual([]);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
    expect(await logged()).toEqual([
      {
        status: "sent",
        provider: "ses",
        provider_message_id: "ses-message-3",
        error: null,
        attempts: 2,
      },
    ]);
    const [row] = await queryRows<{ result: unknown }>(
      db,
      sql`select result from task_step where task_id = 'tsk_retry' and name = 'send'`,
    );
    expect(row?.result).toEqual({ messageId: "ses-message-3" });
  });
});

describe("mail.deliver with HTML", () => {
  it("sends the HTML beside the text through SES", async () => {
    const ses = sesMock();
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-message-html" });
    const { worker } = await bootWithSes();
    const html = "<p>Hello Ada</p>";
    const event = delivery({ task: "mail.deliver", payload: { ...message, html }, id: "tsk_html" });
    expect((await worker(event)).batchItemFailures).toEqual([]);
    expect(ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Content?.Simple?.Body).toEqual({
      Text: { Data: "Hello Ada", Charset: "UTF-8" },
      Html: { Data: html, Charset: "UTF-8" },
    });
  });
});

describe("mail.deliver to the dev mailbox", () => {
  it("stores a task's mail once, however often the task is delivered", async () => {
    await rollback(async () => {
      const task = {
        id: "tsk_dev_mail",
        step: () => Promise.reject(new Error("the dev mailbox calls out to nothing")),
      };
      await deliver(message, task);
      await deliver(message, task);
      const mail = await devMailbox();
      expect(mail).toMatchObject([{ id: "tsk_dev_mail", ...message }]);
      const [count] = await useTransaction((tx) =>
        queryRows<{ n: number }>(tx, sql`select count(*)::int as n from dev_mail`),
      );
      expect(count?.n).toBe(1);
    });
  });
});
