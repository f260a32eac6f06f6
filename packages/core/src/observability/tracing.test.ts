import { describe, expect, it } from "vitest";
import { bootApp, freshDatabase } from "../../test/database";
import { jsonRequest } from "../../test/http";
import { captureLogs } from "../../test/logs";
import { sentryServer } from "../../test/sentry-server";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";

const lineOf = (logs: Record<string, unknown>[], message: string) =>
  logs.filter((line) => line.message === message);

/** The app booted with request lines on (tests log errors only), its own worker and queue. */
async function bootLogging(env: Record<string, string> = {}) {
  const fresh = await freshDatabase({ migrated: true });
  const booted = await bootApp({ ...fresh.env, LOG_LEVEL: "info", ...env }, fresh.handle);
  // The booted app's own modules: its worker and queue, not this file's.
  const [{ drain }, { tasks }] = await Promise.all([
    import("../../test/tasks"),
    import("../tasks"),
  ]);
  return { booted, drain: () => drain(tasks) };
}

describe("one trace from the request to its task", () => {
  it("a request that queues a task: the API's and the worker's log lines carry one trace id", async () => {
    const { booted, drain } = await bootLogging();
    const logs = captureLogs();
    const signup = await booted.app.request(
      "/api/auth/signup",
      jsonRequest(
        { email: "traced.person@example.com", password: "a strong password", name: "T" },
        { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } },
      ),
    );
    expect(signup.status).toBe(201);
    expect(signup.headers.get("x-trace-id")).toBe(TRACE);
    const requestId = signup.headers.get("x-request-id");
    await drain();

    const [request] = lineOf(logs, "request");
    expect(request).toMatchObject({ requestId, traceId: TRACE, status: 201 });
    // The mail the signup queued ran in the worker, in the same trace, joined to the request.
    const done = lineOf(logs, "task done");
    expect(done.map((line) => line.task)).toContain("account.sendVerification");
    for (const line of done) expect(line).toMatchObject({ traceId: TRACE, requestId });
    // Every line written inside the request or its task names the trace.
    const inside = logs.filter((line) => line.requestId !== undefined);
    expect(inside.length).toBeGreaterThan(2);
    for (const line of inside) expect(line.traceId).toBe(TRACE);
  });

  it("without a traceparent the request starts a trace, and its task continues that one", async () => {
    const { booted, drain } = await bootLogging();
    const logs = captureLogs();
    const signup = await booted.app.request(
      "/api/auth/signup",
      jsonRequest({ email: "untraced@example.com", password: "a strong password", name: "U" }),
    );
    expect(signup.status).toBe(201);
    await drain();
    const [request] = lineOf(logs, "request");
    const traceId = request?.traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).toBe(signup.headers.get("x-trace-id"));
    const done = lineOf(logs, "task done");
    expect(done.length).toBeGreaterThan(0);
    for (const line of done) expect(line.traceId).toBe(traceId);
  });
});

describe("traces in Sentry (a loopback ingest)", () => {
  it("the request and its task arrive as transactions of one trace, with SQL statements and none of their values", async () => {
    const sentry = await sentryServer();
    const fresh = await freshDatabase({ migrated: true });
    const booted = await bootApp(
      { ...fresh.env, SENTRY_DSN: sentry.dsn, TRACES_SAMPLE_RATE: "1", STAGE: "trace-stage" },
      fresh.handle,
    );
    const reporting = await import("./error-reporting");
    expect(await reporting.initErrorReporting()).toBe(true);
    const planted = {
      email: "planted.tracer@example.com",
      password: "planted-password-456",
      name: "Planted Tracer Name",
    };
    const signup = await booted.app.request(
      "/api/auth/signup",
      jsonRequest(planted, { headers: { traceparent: `00-${TRACE}-${PARENT}-00` } }),
    );
    expect(signup.status).toBe(201);
    // The booted app's own modules: its worker and queue, not this file's.
    const { drain: drainBooted } = await import("../../test/tasks");
    const { tasks: bootedTasks } = await import("../tasks");
    await drainBooted(bootedTasks);
    await reporting.flushErrors();

    const request = sentry.transactions.find((t) => t.event.contexts.trace.op === "http.server");
    const task = sentry.transactions.find((t) => t.event.contexts.trace.op === "queue.task");
    expect(request?.event.transaction).toBe("POST /api/auth/signup");
    // The incoming flag said "not sampled"; the API's own rate (1) decided.
    expect(request?.event.contexts.trace).toMatchObject({
      trace_id: TRACE,
      parent_span_id: PARENT,
      status: "ok",
    });
    expect(request?.event.tags?.requestId).toBe(signup.headers.get("x-request-id"));
    expect(request?.event.environment).toBe("trace-stage");
    const statements = request?.event.spans.filter((s) => s.op === "db.sql.query") ?? [];
    expect(statements.some((s) => /^insert into "user"/.test(s.description))).toBe(true);
    for (const statement of statements) {
      expect(statement.trace_id).toBe(TRACE);
      expect(statement.parent_span_id).toBe(request?.event.contexts.trace.span_id);
      expect(statement.timestamp).toBeGreaterThanOrEqual(statement.start_timestamp);
      expect(statement.data).toEqual({ "db.system": "postgresql" });
    }

    expect(task?.event.transaction).toBe("account.sendVerification");
    expect(task?.event.contexts.trace.trace_id).toBe(TRACE);
    expect(task?.event.contexts.trace.parent_span_id).toBe(request?.event.contexts.trace.span_id);
    expect(task?.event.spans.some((s) => s.op === "db.sql.query")).toBe(true);

    for (const { raw } of sentry.transactions) {
      for (const secret of [planted.email, planted.password, planted.name, "params"]) {
        expect(raw).not.toContain(secret);
      }
    }
  }, 60_000); // a boot, a signup's password hash and the task run: over 20 s on a loaded machine

  it("TRACES_SAMPLE_RATE=0 sends no transaction, and records no spans", async () => {
    const sentry = await sentryServer();
    const fresh = await freshDatabase({ migrated: true });
    const booted = await bootApp(
      { ...fresh.env, SENTRY_DSN: sentry.dsn, TRACES_SAMPLE_RATE: "0" },
      fresh.handle,
    );
    const reporting = await import("./error-reporting");
    await reporting.initErrorReporting();
    const { startTrace } = await import("./trace");
    expect(startTrace().spans).toBeUndefined();
    expect((await booted.app.request("/api/health")).status).toBe(200);
    await reporting.flushErrors();
    expect(sentry.transactions).toEqual([]);
  });
});

describe("the offline trace buffer (GET /api/dev/traces/:traceId)", () => {
  it("returns the spans and log lines of a request and its task", async () => {
    const fresh = await freshDatabase({ migrated: true });
    const booted = await bootApp(
      { ...fresh.env, DEV_TRACES: "true", LOG_LEVEL: "info" },
      fresh.handle,
    );
    const { startTraceBuffer } = await import("../dev/trace-buffer");
    startTraceBuffer();
    captureLogs();
    const signup = await booted.app.request(
      "/api/auth/signup",
      jsonRequest({ email: "buffered@example.com", password: "a strong password", name: "B" }),
    );
    const traceId = signup.headers.get("x-trace-id") ?? "";
    const { drain: drainBooted } = await import("../../test/tasks");
    const { tasks: bootedTasks } = await import("../tasks");
    await drainBooted(bootedTasks);

    const response = await booted.app.request(`/api/dev/traces/${traceId}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      spans: { op: string; description: string; parentSpanId: string | null }[];
      logs: { message: string; traceId: string }[];
    };
    const ops = body.spans.map((s) => s.op);
    expect(ops).toContain("http.server");
    expect(ops).toContain("queue.task");
    expect(ops).toContain("db.sql.query");
    expect(body.logs.map((l) => l.message)).toEqual(
      expect.arrayContaining(["request", "task done"]),
    );
    for (const line of body.logs) expect(line.traceId).toBe(traceId);
    expect(JSON.stringify(body.spans)).not.toContain("buffered@example.com");

    expect((await booted.app.request(`/api/dev/traces/${"1".repeat(32)}`)).status).toBe(404);
    expect((await booted.app.request("/api/dev/traces/not-a-trace")).status).toBe(400);
  });

  it("keeps at most MAX_TRACES traces, the oldest going first", async () => {
    const buffer = await import("../dev/trace-buffer");
    const { finishTrace, startTrace } = await import("./trace");
    buffer.startTraceBuffer();
    const ids: string[] = [];
    for (let i = 0; i <= buffer.MAX_TRACES; i++) {
      const trace = startTrace();
      ids.push(trace.traceId);
      finishTrace(trace, { op: "test", name: `t${i}`, ok: true });
    }
    expect(buffer.bufferedTrace(ids[0] ?? "")).toBeUndefined();
    expect(buffer.bufferedTrace(ids[1] ?? "")?.spans).toHaveLength(1);
    expect(buffer.bufferedTrace(ids.at(-1) ?? "")?.spans[0]?.description).toBe(
      `t${buffer.MAX_TRACES}`,
    );
  });
});
