import { afterEach, describe, expect, it, vi } from "vitest";
import { as, client, rowCounts, signupUser } from "../../test/app";
import { errorOf, issuesOf } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { lastToken } from "../../test/mail";
import { drain } from "../../test/tasks";
import { uploadAndProcess } from "../../test/uploads";
import * as Account from "../account/account";
import { config } from "../config";
import { rollback } from "../db/transaction";
import { Mail } from "../mail";
import { HIDDEN } from "../observability/redact";
import { localQueue } from "../task/runtime";
import { tasks } from "../tasks";
import * as Audit from "./audit";

/**
 * The operations views through the composed app, as an admin, on the real offline queue and
 * database (in `rollback()`): the queue is driven with the worker the dev runtime runs, the
 * wall clock moved past each visibility timeout (only Date is faked).
 */

afterEach(() => {
  vi.useRealTimers();
});

/** A signed-up user made admin (as the CLI does; admin.security.test.ts covers 401 and 403). */
async function signupAdmin() {
  const signed = await signupUser();
  await Account.setRole(signed.user.id, "admin");
  return signed;
}

const request = (cookie: string, method: string, path: string) => as(cookie).send(method, path);

/** A message the worker fails on every delivery until it is a dead letter; its message id. */
async function deadLetter(body: string): Promise<string> {
  vi.useFakeTimers({ toFake: ["Date"] });
  const id = await localQueue().sendRaw(body);
  const settings = config().tasks;
  if (settings.kind !== "local") throw new Error("these tests run on the local queue");
  const { createWorker } = await import("../task/worker");
  const worker = createWorker(tasks);
  // maxReceiveCount failed deliveries, then the receive that moves it to the dead letters.
  for (let i = 0; i <= settings.maxReceiveCount; i++) {
    const batch = await localQueue().receive(10);
    await worker(localQueue().toEvent(batch));
    vi.setSystemTime(Date.now() + (settings.visibilityTimeoutSeconds + 1) * 1000);
  }
  vi.useRealTimers();
  return id;
}

/** A mail.deliver task whose payload fails its schema (the address), with a secret in its body. */
const badMail = JSON.stringify({
  task: "mail.deliver",
  id: "tsk_01KAZ0000000000000000BADM1",
  payload: { to: "not-an-address", subject: "Your link", text: "https://x.example/#token=s3cr3t" },
});

describe("admin: tasks", () => {
  it("stats, then a dead letter with its payload (body hidden) and last error", async () =>
    rollback(async () => {
      captureLogs();
      const { cookie } = await signupAdmin();
      const admin = client(cookie).api.admin;
      const id = await deadLetter(badMail);

      const stats = await admin.tasks.$get();
      expect(stats.status).toBe(200);
      expect(await stats.json()).toMatchObject({
        queue: "local",
        tasks: expect.arrayContaining(["mail.deliver"]),
        messages: { inFlight: 0, delayed: 0 },
        deadLetters: { count: 1, oldestAgeSeconds: expect.any(Number) },
      });

      const listed = await admin.tasks["dead-letters"].$get({ query: {} });
      expect(listed.status).toBe(200);
      const body = await listed.json();
      expect(body).toEqual({
        deadLetters: [
          {
            id,
            taskId: "tsk_01KAZ0000000000000000BADM1",
            task: "mail.deliver",
            schedule: null,
            payload: { to: "not-an-address", subject: "Your link", text: HIDDEN },
            receiveCount: 5,
            sentAt: expect.any(String),
            lastError: {
              message: expect.stringContaining("ZodError"),
              at: expect.any(String),
              attempts: 5,
            },
          },
        ],
        nextCursor: null,
      });
      expect(JSON.stringify(body)).not.toContain("s3cr3t");
    }));

  it("redrive one, discard one, redrive all: each moves what it says and is audited", async () =>
    rollback(async () => {
      captureLogs();
      const { cookie, user } = await signupAdmin();
      const admin = client(cookie).api.admin;
      const [a, b, c] = [
        await deadLetter('{"task":"nope.one","payload":{}}'),
        await deadLetter('{"task":"nope.two","payload":{}}'),
        await deadLetter('{"task":"nope.three","payload":{}}'),
      ];
      const dead = async () =>
        (await (await admin.tasks["dead-letters"].$get({ query: {} })).json()).deadLetters.map(
          (d) => d.id,
        );
      expect((await dead()).sort()).toEqual([a, b, c].sort());

      const redriven = await admin.tasks["dead-letters"][":id"].redrive.$post({ param: { id: a } });
      expect(redriven.status).toBe(200);
      expect(await redriven.json()).toEqual({ id: a });
      const discarded = await admin.tasks["dead-letters"][":id"].$delete({ param: { id: b } });
      expect(discarded.status).toBe(200);
      expect(await dead()).toEqual([c]);
      // Back on the task queue, with a fresh receive count: a's message is visible again.
      expect((await (await admin.tasks.$get()).json()).messages.visible).toBe(1);

      const all = await admin.tasks["dead-letters"].redrive.$post();
      expect(all.status).toBe(200);
      expect(await all.json()).toEqual({ moved: 1 });
      expect(await dead()).toEqual([]);

      const { entries } = await Audit.list({});
      expect(entries.map((e) => [e.action, e.target, e.actorUserId])).toEqual([
        ["task.redrive-all", null, user.id],
        ["task.discard", `dead-letter:${b}`, user.id],
        ["task.redrive", `dead-letter:${a}`, user.id],
      ]);
      expect(entries[0]?.details).toEqual({ moved: 1 });
    }));

  it("a dead letter that is not there (any more) is a 404, and nothing is audited", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      for (const [method, path] of [
        ["POST", "/api/admin/tasks/dead-letters/no-such-message/redrive"],
        ["DELETE", "/api/admin/tasks/dead-letters/no-such-message"],
      ] as const) {
        const response = await request(cookie, method, path);
        expect(response.status, `${method} ${path}`).toBe(404);
        expect((await errorOf(response)).code).toBe("not_found");
      }
      expect(await rowCounts()).toEqual(before);
    }));

  it("bad paging input is a 400 naming the field", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      for (const [path, field] of [
        ["/api/admin/tasks/dead-letters?cursor=forged", "cursor"],
        ["/api/admin/tasks/dead-letters?limit=0", "limit"],
        ["/api/admin/tasks/dead-letters?limit=101", "limit"],
        ["/api/admin/tasks/dead-letters?limit=ten", "limit"],
        ["/api/admin/tasks/dead-letters?extra=1", ""],
        ["/api/admin/mail?cursor=forged", "cursor"],
        ["/api/admin/attachments?status=deleted", "status"],
        ["/api/admin/attachments?limit=-1", "limit"],
      ] as const) {
        const response = await as(cookie).get(path);
        expect(response.status, path).toBe(400);
        expect(await issuesOf(response), path).toContain(field);
      }
    }));
});

describe("admin: schedules", () => {
  it("lists each schedule with its next three runs, runs one now, and shows its outcome", async () =>
    rollback(async () => {
      captureLogs();
      const { cookie } = await signupAdmin();
      const admin = client(cookie).api.admin;
      const listed = await admin.schedules.$get();
      expect(listed.status).toBe(200);
      const { schedules } = await listed.json();
      const cleanup = schedules.find((s) => s.name === "maintenance-cleanup-hourly");
      expect(cleanup).toMatchObject({
        task: "maintenance.cleanup",
        expression: expect.any(String),
        timezone: expect.any(String),
        lastRun: null,
      });
      expect(cleanup?.next).toHaveLength(3);
      const [first, second] = (cleanup?.next ?? []).map((t) => Date.parse(t));
      expect((second ?? 0) - (first ?? 0)).toBe(3_600_000);

      const run = await admin.schedules[":name"].run.$post({
        param: { name: "maintenance-cleanup-hourly" },
      });
      expect(run.status).toBe(202);
      const { id } = await run.json();
      await drain(tasks);
      const after = (await (await admin.schedules.$get()).json()).schedules.find(
        (s) => s.name === "maintenance-cleanup-hourly",
      );
      expect(after?.lastRun).toMatchObject({
        taskId: id,
        outcome: "succeeded",
        error: null,
        attempts: 1,
      });
      const { entries } = await Audit.list({});
      expect(entries[0]).toMatchObject({
        action: "schedule.run",
        target: "schedule:maintenance-cleanup-hourly",
        details: { id },
      });
    }));

  it("an unknown schedule is a 404 listing the schedules, and nothing is queued", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const before = await rowCounts();
      const response = await request(cookie, "POST", "/api/admin/schedules/nope/run");
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toMatchObject({
        code: "not_found",
        details: { schedules: expect.arrayContaining(["maintenance-cleanup-hourly"]) },
      });
      expect(await rowCounts()).toEqual(before);
      expect((await localQueue().stats()).messages.visible).toBe(0);
    }));
});

describe("admin: mail and attachments", () => {
  it("mail: queued, then sent, newest first, paged; a mailed token is nowhere in it", async () =>
    rollback(async () => {
      const { cookie } = await signupAdmin();
      const member = await signupUser();
      await Mail.send({ to: "ada@example.com", subject: "Hello", text: "A body" });
      const admin = client(cookie).api.admin;
      const queued = await (await admin.mail.$get({ query: {} })).json();
      expect(queued.messages[0]).toMatchObject({
        to: "ada@example.com",
        subject: "Hello",
        status: "queued",
        attempts: 0,
        provider: null,
      });

      // The verification mail carries a token: sent, listed, and its token not shown.
      const token = await lastToken(member.email, "Confirm your email", "/verify-email");
      const sent = await (await admin.mail.$get({ query: {} })).json();
      expect(sent.messages.find((m) => m.to === "ada@example.com")).toMatchObject({
        status: "sent",
        provider: "dev",
        attempts: 1,
        error: null,
      });
      expect(sent.messages.find((m) => m.to === member.email)).toMatchObject({ status: "sent" });
      expect(JSON.stringify(sent)).not.toContain(token);
      expect(JSON.stringify(sent)).not.toContain("A body");

      const firstPage = await (await admin.mail.$get({ query: { limit: "1" } })).json();
      expect(firstPage.messages).toHaveLength(1);
      expect(firstPage.nextCursor).toEqual(expect.any(String));
      const rest = await (
        await admin.mail.$get({ query: { limit: "100", cursor: firstPage.nextCursor ?? "" } })
      ).json();
      expect([...firstPage.messages, ...rest.messages].map((m) => m.id)).toEqual(
        sent.messages.map((m) => m.id),
      );
    }));

  it("attachments: every user's, newest first; rejected ones with their reason", async () =>
    rollback(async () => {
      captureLogs();
      const { cookie } = await signupAdmin();
      const member = await signupUser();
      const bad = await uploadAndProcess(member.cookie, {
        filename: "fake.png",
        contentType: "image/png",
        bytes: new TextEncoder().encode("not a png at all"),
      });
      expect(bad.attachment.status).toBe("rejected");
      const admin = client(cookie).api.admin;
      const all = await admin.attachments.$get({ query: {} });
      expect(all.status).toBe(200);
      expect((await all.json()).attachments).toMatchObject([
        { id: bad.attachment.id, userId: member.user.id, status: "rejected" },
      ]);
      const rejected = await (
        await admin.attachments.$get({ query: { status: "rejected" } })
      ).json();
      expect(rejected.attachments[0]?.rejectReason).toEqual(expect.any(String));
      const ready = await (await admin.attachments.$get({ query: { status: "ready" } })).json();
      expect(ready).toEqual({ attachments: [], nextCursor: null });
    }));
});
