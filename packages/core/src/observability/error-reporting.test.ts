import { DrizzleQueryError, sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { bootApp, freshDatabase } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { sentryServer } from "../../test/sentry-server";

/** The app booted as a new process with Sentry pointed at the loopback server. */
async function bootWithSentry() {
  const sentry = await sentryServer();
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp(
    { ...fresh.env, SENTRY_DSN: sentry.dsn, SLIPWAY_RELEASE: "rel-42", STAGE: "test-stage" },
    fresh.handle,
  );
  await booted.migrator.migrate(fresh.handle.db, booted.config.migrationsDir);
  const reporting = await import("./error-reporting");
  expect(await reporting.initErrorReporting()).toBe(true);
  return { sentry, booted, fresh, reporting };
}

describe("error reporting (Sentry)", () => {
  it("a thrown 500 arrives with request id, stage, release and user id, and no email, password, body or cookie", async () => {
    const { sentry, booted, reporting } = await bootWithSentry();
    const { createApp } = await import("../http/app");
    const { sessionMiddleware } = await import("../account/session");
    const planted = {
      email: "planted.person@example.com",
      password: "planted-password-123",
      name: "Planted",
    };
    const signup = await booted.app.request("/api/auth/signup", jsonRequest(planted));
    const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const { user } = (await signup.json()) as { user: { id: string } };

    const probe = createApp()
      .use(sessionMiddleware)
      .post("/boom", () => {
        throw new Error("kaboom");
      });
    const response = await probe.request(
      "/boom",
      jsonRequest({ secret: "planted-body-value" }, { headers: { cookie } }),
    );
    expect(response.status).toBe(500);
    await reporting.flushErrors();

    expect(sentry.events).toHaveLength(1);
    const [{ event, raw }] = sentry.events as [(typeof sentry.events)[number]];
    expect(event.exception?.values?.[0]?.value).toBe("kaboom");
    expect(event.tags).toMatchObject({ requestId: response.headers.get("x-request-id") });
    expect(event.user).toEqual({ id: user.id });
    expect(event.environment).toBe("test-stage");
    expect(event.release).toBe("rel-42");
    for (const secret of [
      planted.email,
      planted.password,
      "planted-body-value",
      cookie.split("=")[1] ?? "no-cookie",
    ]) {
      expect(raw).not.toContain(secret);
    }
  });

  it("a failed query is logged and reported with its SQL and the database's reason, never its parameters", async () => {
    const { sentry, booted, fresh, reporting } = await bootWithSentry();
    // A real database failure on a real write: the note table refuses every insert.
    await fresh.handle.db.execute(sql`
      create function refuse_note() returns trigger language plpgsql as $$
      begin raise exception 'planted database failure'; end $$`);
    await fresh.handle.db.execute(
      sql`create trigger refuse_note before insert on note for each row execute function refuse_note()`,
    );
    const signup = await booted.app.request(
      "/api/auth/signup",
      jsonRequest({ email: "query.person@example.com", password: "a strong password", name: "Q" }),
    );
    const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const logs = captureLogs();
    const planted = { title: "planted-note-title", body: "planted-note-body" };
    const response = await booted.app.request(
      "/api/notes",
      jsonRequest(planted, { headers: { cookie } }),
    );
    expect(response.status).toBe(500);
    await reporting.flushErrors();

    const line = logs.find((l) => l.message === "unhandled error") as
      | { error: { message: string; cause?: { message: string } } }
      | undefined;
    expect(line?.error.message).toMatch(/^Failed query: insert into "note"/);
    expect(line?.error.cause?.message).toBe("planted database failure");
    expect(sentry.events).toHaveLength(1);
    const { event, raw } = sentry.events[0] as (typeof sentry.events)[number];
    const values = event.exception?.values?.map((v) => v.value) ?? [];
    expect(values.some((v) => v?.startsWith('Failed query: insert into "note"'))).toBe(true);
    expect(values).toContain("planted database failure");
    for (const secret of [planted.title, planted.body, "params:"]) {
      expect(JSON.stringify(logs)).not.toContain(secret);
      expect(raw).not.toContain(secret);
    }

    // One the SDK captures by itself (an uncaught error, the Lambda wrapper) is scrubbed too.
    const Sentry = await import("@sentry/node");
    Sentry.captureException(
      new DrizzleQueryError("insert into note values ($1)", ["planted-raw-param"], new Error("x")),
    );
    await reporting.flushErrors();
    expect(sentry.events).toHaveLength(2);
    const direct = sentry.events[1] as (typeof sentry.events)[number];
    expect(direct.event.exception?.values?.map((v) => v.value)).toContain(
      "Failed query: insert into note values ($1)",
    );
    expect(direct.raw).not.toContain("planted-raw-param");
  });

  it("a 4xx is not reported", async () => {
    const { sentry, booted, reporting } = await bootWithSentry();
    expect((await booted.app.request("/api/nope")).status).toBe(404);
    expect((await booted.app.request("/api/auth/signup", jsonRequest({ email: "x" }))).status).toBe(
      400,
    );
    expect((await booted.app.request("/api/auth/me")).status).toBe(401);
    await reporting.flushErrors();
    expect(sentry.events).toEqual([]);
  });

  it("a failing task arrives with task name, task id, message id and the request id it came from", async () => {
    const { sentry, reporting } = await bootWithSentry();
    const { createWorker } = await import("../task/worker");
    const { defineTask, handleTask } = await import("../task/task");
    const failing = handleTask(defineTask("probe.fail", z.object({})), async () => {
      throw new Error("task exploded");
    });
    const record = {
      messageId: "msg-123",
      receiptHandle: "rh",
      body: JSON.stringify({
        task: "probe.fail",
        payload: {},
        id: "tsk_abc",
        requestId: "req-xyz",
      }),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "0",
        SenderId: "x",
        ApproximateFirstReceiveTimestamp: "0",
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn",
      awsRegion: "local",
    };
    const result = await createWorker([failing])({ Records: [record] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "msg-123" }]);
    await reporting.flushErrors();
    expect(sentry.events).toHaveLength(1);
    expect(sentry.events[0]?.event.tags).toMatchObject({
      task: "probe.fail",
      taskId: "tsk_abc",
      messageId: "msg-123",
      requestId: "req-xyz",
    });
  });

  it("deferred (the Lambdas): nothing is loaded at start; the first report loads the SDK once, reports made meanwhile wait for it, and a flush sends them all", async () => {
    await bootApp({ SENTRY_DSN: "https://public@127.0.0.1:1/1" });
    const { flushErrors, initErrorReporting, reportError } = await import("./error-reporting");
    const captured: string[] = [];
    let flushed = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const load = vi.fn(async () => {
      await gate; // the import still under way while more reports come
      return {
        init: () => undefined,
        withScope: (run: (scope: { setTag(): void; setUser(): void }) => void) =>
          run({ setTag: () => {}, setUser: () => {} }),
        captureException: (error: unknown) => {
          captured.push(String((error as Error).message));
          return "id";
        },
        flush: async () => {
          flushed++;
          return true;
        },
      };
    });
    expect(await initErrorReporting(load as never, { defer: true })).toBe(true);
    expect(load).not.toHaveBeenCalled();
    reportError(new Error("first"));
    reportError(new Error("second"));
    expect(load).toHaveBeenCalledTimes(1);
    const flushing = flushErrors();
    release();
    await flushing;
    expect(captured).toEqual(["first", "second"]);
    expect(flushed).toBe(1);
    reportError(new Error("third")); // loaded now: straight to the SDK
    expect(captured).toEqual(["first", "second", "third"]);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it("without a DSN nothing is loaded or initialised", async () => {
    await bootApp({ SENTRY_DSN: "" });
    const { initErrorReporting } = await import("./error-reporting");
    const load = vi.fn();
    expect(await initErrorReporting(load)).toBe(false);
    expect(load).not.toHaveBeenCalled();
  });
});
